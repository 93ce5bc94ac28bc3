using Microsoft.AspNetCore.Http;
using Serverless.Relay.Functions;

namespace Serverless.Relay.Relaying;

/// <summary>A chat API whose model and stream flag travel in the body (OpenAI Chat Completions, Responses and its compaction, Anthropic Messages).</summary>
internal sealed class ChatFunction(ClientApi api, HttpRelay relay) : IHttpFunction
{
    public string Name => api.FunctionName;

    public Task InvokeAsync(HttpContext context) => relay.RelayAsync(context, api, RouteHints.None);
}
