using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Failover;

internal static class FailoverServiceCollectionExtensions
{
    /// <summary>The failover executor (section <c>Failover</c>).</summary>
    public static IServiceCollection AddFailover(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<FailoverOptions>().Bind(configuration.GetSection(FailoverOptions.Section)).ValidateWith<FailoverOptions, FailoverOptionsValidator>().ValidateOnStart();
        services.TryAddSingleton<FailoverExecutor>();
        return services;
    }
}
