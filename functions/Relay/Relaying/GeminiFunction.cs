using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Functions;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The Gemini API under <c>/v1beta/models/</c>: <c>GET</c> lists or describes models;
/// <c>POST {model}:generateContent</c>, <c>:streamGenerateContent</c> and <c>:countTokens</c> call them.
/// </summary>
internal sealed class GeminiFunction(RelayPipeline pipeline, ModelsResponder models, TokenCounter counter) : IHttpFunction
{
    public string Name => "Gemini";

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.RouteValues["path"] as string ?? "";
        if (HttpMethods.IsGet(context.Request.Method))
        {
            return models.RespondAsync(context, ModelListShape.Gemini, path.Length == 0 ? null : path);
        }

        var colon = path.LastIndexOf(':');
        var model = colon > 0 ? path[..colon] : path;
        var action = colon > 0 ? path[(colon + 1)..] : "";
        return action switch
        {
            "generateContent" => pipeline.RelayAsync(context, ClientApis.Gemini, model, streamFromPath: false),
            "streamGenerateContent" => pipeline.RelayAsync(
                context,
                ClientApis.Gemini,
                model,
                streamFromPath: true,
                jsonArrayStream: !string.Equals(context.Request.Query["alt"], "sse", StringComparison.OrdinalIgnoreCase)),
            "countTokens" => counter.CountAsync(context, ClientApis.Gemini, model, body => ReadCountRequest(body, model), static (writer, count) =>
            {
                writer.WriteStartObject();
                writer.WriteNumber("totalTokens", count);
                writer.WriteEndObject();
            }),
            _ => RelayResults.WriteErrorAsync(context, ClientApis.Gemini.Format, new RelayError(ErrorKind.NotFound, $"Unknown method '{action}': use generateContent, streamGenerateContent or countTokens.")),
        };
    }

    /// <summary>A countTokens body holds either <c>contents</c> or a whole <c>generateContentRequest</c>.</summary>
    private static Parsed<ChatRequest> ReadCountRequest(JsonElement body, string model) =>
        ClientApis.Gemini.Format.ReadRequest(
            body.ValueKind == JsonValueKind.Object && body.TryGetProperty("generateContentRequest", out var inner) ? inner : body,
            model,
            false);
}
