using Microsoft.Extensions.DependencyInjection;
using Serverless.Jobs.RefreshTokens;
using Serverless.Relay.Functions;

namespace Serverless.Jobs;

public static class JobsServiceCollectionExtensions
{
    /// <summary>Registers one <see cref="ITimerFunction"/> per timer function of the Jobs area.</summary>
    public static IServiceCollection AddJobs(this IServiceCollection services)
    {
        services.AddSingleton<ITimerFunction, RefreshTokensFunction>();
        return services;
    }
}
