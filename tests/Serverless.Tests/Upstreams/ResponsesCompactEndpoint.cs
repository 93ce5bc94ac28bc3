using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Serverless.Tests.Upstreams;

/// <summary>
/// Fake of <c>POST /v1/responses/compact</c> (https://platform.openai.com/docs/api-reference/responses/compact), which
/// Codex calls to compact a long session (codex-rs <c>codex-api/src/endpoint/compact.rs</c>): a Responses-shaped body
/// (model, input items, instructions, tools…) in, a <c>response.compaction</c> object out, whose output is the user
/// messages followed by one opaque <c>compaction</c> item. Never streamed.
/// </summary>
internal sealed class ResponsesCompactEndpoint : UpstreamEndpoint
{
    /// <summary>What the compaction item carries: opaque to everyone but OpenAI.</summary>
    public const string EncryptedContent = "gAAAA-loopback-compaction";

    public override UpstreamDialect Dialect => UpstreamDialect.OpenAIResponsesCompact;

    public override string MalformedJsonMessage => new ResponsesEndpoint().MalformedJsonMessage;

    public override UpstreamFailure? Authenticate(HttpRequest request, string apiKey) => OpenAIAuth.Check(request, apiKey);

    public override UpstreamFailure Error(int status, string message, string? param = null, string? code = null) =>
        OpenAIAuth.Error(status, message, param, code);

    public override Invalid? Validate(JsonElement body, HttpRequest request)
    {
        if (body.String("model") is null)
        {
            return new("Missing required parameter: 'model'.", "model", "missing_required_parameter");
        }

        if (body.Has("stream", out _))
        {
            return new("Unknown parameter: 'stream'.", "stream", "unknown_parameter");
        }

        return body.Has("input", out var input) && input.ValueKind is not (JsonValueKind.String or JsonValueKind.Array)
            ? new($"Invalid type for 'input': expected one of a string or array of input items, but got {WireJson.Kind(input.ValueKind)} instead.", "input", "invalid_type")
            : null;
    }

    public override Task AnswerAsync(HttpContext context, JsonElement body, UpstreamScript script)
    {
        var output = new JsonArray();
        foreach (var item in body.Items("input").Where(i => (i.String("type") ?? "message") == "message" && i.String("role") == "user"))
        {
            output.Add(JsonNode.Parse(item.GetRawText()));
        }

        output.Add(new JsonObject { ["id"] = "cmp_item_loopback" + NextId(), ["type"] = "compaction", ["encrypted_content"] = EncryptedContent });
        return WriteJsonAsync(context, new JsonObject
        {
            ["id"] = "cmp_loopback" + NextId(),
            ["object"] = "response.compaction",
            ["created_at"] = UnixNow(),
            ["output"] = output,
            ["usage"] = new JsonObject
            {
                ["input_tokens"] = CanonicalUsage.PromptTotal,
                ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = CanonicalUsage.CacheRead },
                ["output_tokens"] = CanonicalUsage.Output,
                ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
                ["total_tokens"] = CanonicalUsage.Total,
            },
        }, script);
    }
}
