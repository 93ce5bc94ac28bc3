using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Sessions;

internal static class SessionsServiceCollectionExtensions
{
    /// <summary>Sticky-session bindings (section <c>Sessions</c>).</summary>
    public static IServiceCollection AddSessions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SessionOptions>().Bind(configuration.GetSection(SessionOptions.Section)).ValidateWith<SessionOptions, SessionOptionsValidator>().ValidateOnStart();
        services.TryAddSingleton<SessionBindings>();
        return services;
    }
}
