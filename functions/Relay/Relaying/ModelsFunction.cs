using Microsoft.AspNetCore.Http;
using Serverless.Relay.Functions;

namespace Serverless.Relay.Relaying;

/// <summary>
/// <c>GET /v1/models[/{id}]</c>. OpenAI, Anthropic and the Google GenAI SDKs (which default to <c>/v1/</c>) share this
/// path. An Anthropic client always sends <c>anthropic-version</c>; a Gemini client puts its key in
/// <c>x-goog-api-key</c> or <c>?key=</c>, and the Google SDKs send <c>x-goog-api-client</c>. Anything else is OpenAI.
/// </summary>
internal sealed class ModelsFunction(ModelsResponder responder) : IHttpFunction
{
    public string Name => "Models";

    public Task InvokeAsync(HttpContext context)
    {
        var id = context.Request.RouteValues["id"] as string;
        return responder.RespondAsync(context, ShapeOf(context.Request), string.IsNullOrEmpty(id) ? null : id);
    }

    internal static ModelListShape ShapeOf(HttpRequest request)
    {
        var headers = request.Headers;
        if (headers.ContainsKey("anthropic-version"))
        {
            return ModelListShape.Anthropic;
        }

        return headers.ContainsKey("x-goog-api-key") || headers.ContainsKey("x-goog-api-client") || request.Query.ContainsKey("key")
            ? ModelListShape.Gemini
            : ModelListShape.OpenAI;
    }
}
