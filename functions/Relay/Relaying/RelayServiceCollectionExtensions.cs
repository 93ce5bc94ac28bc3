using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serverless.Relay.Functions;

namespace Serverless.Relay.Relaying;

public static class RelayServiceCollectionExtensions
{
    /// <summary>Registers the request path and one <see cref="IHttpFunction"/> per client API function.</summary>
    public static IServiceCollection AddRelay(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RelayOptions>()
            .Bind(configuration.GetSection("Relay"))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<UpstreamHttp>();
        services.AddSingleton<ClientAuthenticator>();
        services.AddSingleton<AccountRouter>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<ModelsResponder>();
        services.TryAddSingleton<TokenEstimator>();
        services.AddSingleton<TokenCounter>();
        services.AddSingleton<RelayPipeline>();

        foreach (var api in new[] { ClientApis.ChatCompletions, ClientApis.Responses, ClientApis.ResponsesUnversioned, ClientApis.Messages })
        {
            services.AddSingleton<IHttpFunction>(sp => new ChatFunction(api, sp.GetRequiredService<RelayPipeline>()));
        }

        services.AddSingleton<IHttpFunction, GeminiFunction>();
        services.AddSingleton<IHttpFunction, ModelsFunction>();
        services.AddSingleton<IHttpFunction, CountTokensFunction>();
        services.AddSingleton<IHttpFunction, Admin.KeyInfoFunction>();
        services.AddSingleton<IHttpFunction, Admin.QuotaFunction>();
        return services;
    }
}
