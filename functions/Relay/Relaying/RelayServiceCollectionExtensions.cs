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

        // The Google GenAI SDKs call /v1/ by default and /v1alpha/ for previews (issue 8). v1 takes only POST: the
        // Models function keeps GET /v1/models and answers Gemini's list shape to a Gemini caller.
        services.AddSingleton<IHttpFunction>(sp => new FunctionAlias("GeminiV1", ActivatorUtilities.CreateInstance<GeminiFunction>(sp)));
        services.AddSingleton<IHttpFunction>(sp => new FunctionAlias("GeminiV1Alpha", ActivatorUtilities.CreateInstance<GeminiFunction>(sp)));
        services.AddSingleton<IHttpFunction, ModelsFunction>();
        services.AddSingleton<IHttpFunction, CountTokensFunction>();
        services.AddSingleton<IHttpFunction, Limits.KeyInfoFunction>();
        services.AddSingleton<IHttpFunction, Limits.QuotaFunction>();
        return services;
    }
}
