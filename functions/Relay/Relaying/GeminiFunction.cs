using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Canonical;
using Serverless.Relay.Functions;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The Gemini API under <c>/{version}/models/</c>: <c>GET</c> lists or describes models;
/// <c>POST {model}:generateContent</c>, <c>:streamGenerateContent</c> and <c>:countTokens</c> call them. One instance
/// per function (API version route), each registered with its own function name.
/// </summary>
internal sealed class GeminiFunction(string functionName, HttpRelay relay, ModelsResponder models, TokenCounter counter) : IHttpFunction
{
    public string Name => functionName;

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.RouteValues["path"] as string ?? "";
        if (HttpMethods.IsGet(context.Request.Method))
        {
            return models.RespondAsync(context, ModelListShape.Gemini, path.Length == 0 ? null : path);
        }

        var (method, hints) = GeminiRoute.Read(path, context.Request.Query);
        var api = ClientApis.Gemini;
        return method switch
        {
            GeminiRoute.Generate or GeminiRoute.StreamGenerate => relay.RelayAsync(context, api, hints),
            GeminiRoute.CountTokens => counter.CountAsync(context, api, hints, ReadCountRequest, static (writer, count) =>
            {
                writer.WriteStartObject();
                writer.WriteNumber("totalTokens", count);
                writer.WriteEndObject();
            }),
            _ => RelayResults.WriteFailureAsync(context, api.Format, RelayOutcome.Refusal(
                new RelayError(ErrorKind.NotFound, $"Unknown method '{method}': use generateContent, streamGenerateContent or countTokens."),
                404)),
        };
    }

    /// <summary>A countTokens body holds either <c>contents</c> or a whole <c>generateContentRequest</c>.</summary>
    private static Result<ChatRequest> ReadCountRequest(JsonElement body, RouteHints hints) =>
        ClientApis.Gemini.Format.ReadRequest(
            body.ValueKind == JsonValueKind.Object && body.TryGetProperty("generateContentRequest", out var inner) ? inner : body,
            hints.Model,
            false);
}
