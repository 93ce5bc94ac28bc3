using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;
using Serverless.Relay.Functions;

namespace Serverless.Relay.Relaying;

/// <summary>Anthropic <c>POST /v1/messages/count_tokens</c>: <c>{"input_tokens": n}</c>.</summary>
internal sealed class CountTokensFunction(TokenCounter counter) : IHttpFunction
{
    public string Name => "CountTokens";

    public Task InvokeAsync(HttpContext context) =>
        counter.CountAsync(context, ClientApis.Messages, RouteHints.None, ReadRequest, static (writer, count) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("input_tokens", count);
            writer.WriteEndObject();
        });

    private static Result<ChatRequest> ReadRequest(JsonElement body, RouteHints hints)
    {
        // NOTE: a count_tokens body is a Messages body without max_tokens, which the Messages reader requires.
        if (body.ValueKind == JsonValueKind.Object && !body.TryGetProperty("max_tokens", out _))
        {
            // The body is re-serialized below, which throws on text that is not valid UTF-8: refuse that first.
            if (JsonFields.CheckText(body) is { } textError)
            {
                return textError;
            }

            var json = JsonNode.Parse(body.GetRawText())!.AsObject();
            json["max_tokens"] = 1;
            using var document = JsonDocument.Parse(json.ToJsonString());
            return ClientApis.Messages.Format.ReadRequest(document.RootElement.Clone(), null, false);
        }

        return ClientApis.Messages.Format.ReadRequest(body, null, false);
    }
}
