using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serverless.Relay.Functions;
using Serverless.Relay.Providers;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Relaying;

internal static class RelayingServiceCollectionExtensions
{
    /// <summary>Registers the request path, the in-process <see cref="IRelay"/>, and one <see cref="IHttpFunction"/> per client API function.</summary>
    public static IServiceCollection AddRelaying(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RelayOptions>()
            .Bind(configuration.GetSection("Relay"))
            .ValidateWith<RelayOptions, RelayOptionsValidator>()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ClientAuthenticator>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<ModelsResponder>();
        services.AddSingleton<InFlightBodies>();
        services.AddSingleton<InFlightRequests>();
        services.AddSingleton<UsageDoor>();
        services.AddSingleton<RelayRequestReader>();
        services.AddSingleton<UpstreamSender>();
        services.AddSingleton<RelayForwarder>();
        services.AddSingleton<HttpRelay>();
        services.AddSingleton<IRelay, RelayInProcess>();
        services.AddSingleton<TokenCounter>();

        foreach (var api in new[] { ClientApis.ChatCompletions, ClientApis.Responses, ClientApis.ResponsesUnversioned, ClientApis.ResponsesCompact, ClientApis.ResponsesCompactUnversioned, ClientApis.Messages })
        {
            services.AddSingleton<IHttpFunction>(sp => new ChatFunction(api, sp.GetRequiredService<HttpRelay>()));
        }

        services.AddGeminiFunction("Gemini");

        // The Google GenAI SDKs call /v1/ by default and /v1alpha/ for previews. v1 takes only POST: the Models
        // function keeps GET /v1/models and answers Gemini's list shape to a Gemini caller.
        services.AddGeminiFunction("GeminiV1");
        services.AddGeminiFunction("GeminiV1Alpha");
        services.AddSingleton<IHttpFunction, ModelsFunction>();
        services.AddSingleton<IHttpFunction, CountTokensFunction>();
        return services;
    }

    /// <summary>One more Gemini entry point (e.g. another API version's route), served by its own function.</summary>
    internal static IServiceCollection AddGeminiFunction(this IServiceCollection services, string functionName) =>
        services.AddSingleton<IHttpFunction>(sp => ActivatorUtilities.CreateInstance<GeminiFunction>(sp, functionName));
}
