using Microsoft.AspNetCore.Http;
using Serverless.Relay.Functions;

namespace Serverless.Relay.Relaying;

/// <summary>
/// <c>GET /v1/models[/{id}]</c>. OpenAI and Anthropic SDKs share this path; an Anthropic client always sends
/// <c>anthropic-version</c>, so that header picks Anthropic's list shape.
/// </summary>
internal sealed class ModelsFunction(ModelsResponder responder) : IHttpFunction
{
    public string Name => "Models";

    public Task InvokeAsync(HttpContext context)
    {
        var id = context.Request.RouteValues["id"] as string;
        var shape = context.Request.Headers.ContainsKey("anthropic-version") ? ModelListShape.Anthropic : ModelListShape.OpenAI;
        return responder.RespondAsync(context, shape, string.IsNullOrEmpty(id) ? null : id);
    }
}
