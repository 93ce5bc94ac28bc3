using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Serverless.Tests.Upstreams;

/// <summary>
/// One fake API endpoint. <see cref="LoopbackUpstream"/> runs the same pipeline for all of them: record, check the
/// credential, apply the script's failure, parse, validate, answer; each endpoint supplies its own wire format.
/// </summary>
internal abstract class UpstreamEndpoint
{
    public abstract UpstreamDialect Dialect { get; }

    /// <summary>Null when the request carries <paramref name="apiKey"/> the way this API expects it.</summary>
    public abstract UpstreamFailure? Authenticate(HttpRequest request, string apiKey);

    /// <summary>An error body in this API's own shape for any status.</summary>
    public abstract UpstreamFailure Error(int status, string message, string? param = null, string? code = null);

    public abstract string MalformedJsonMessage { get; }

    /// <summary>Checks what the real API would refuse; null when the request is acceptable.</summary>
    public abstract Invalid? Validate(JsonElement body, HttpRequest request);

    /// <summary>Turns a validation refusal into this API's 400 answer.</summary>
    public virtual UpstreamFailure Refuse(Invalid invalid) =>
        Error(StatusCodes.Status400BadRequest, invalid.Message, invalid.Param, invalid.Code);

    public abstract Task AnswerAsync(HttpContext context, JsonElement body, UpstreamScript script);

    /// <summary>A non-streamed answer, sent as <paramref name="script"/> says (whole, or in two parts, or cut).</summary>
    protected static async Task WriteJsonAsync(HttpContext context, JsonNode body, UpstreamScript script)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(WireJson.Write(body));
        if (script.AnswerContentLength)
        {
            response.ContentLength = bytes.Length;
        }

        var split = Math.Min(script.AnswerSplitAt ?? bytes.Length, bytes.Length);
        await response.Body.WriteAsync(bytes.AsMemory(0, split), context.RequestAborted);
        if (split == bytes.Length)
        {
            return;
        }

        await response.Body.FlushAsync(context.RequestAborted);
        if (script.AtAnswerSplit is { } gate)
        {
            await gate(context.RequestAborted);
        }

        if (script.BreakAtAnswerSplit)
        {
            // NOTE: a flush hands the bytes to the transport, which an abort may still drop: a test that needs the first
            // part delivered opens the gate only once its client has read it.
            context.Abort();
            return;
        }

        await response.Body.WriteAsync(bytes.AsMemory(split), context.RequestAborted);
    }

    protected static long UnixNow() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    private static int s_ids;

    /// <summary>A unique suffix for response ids, so tests can tell two answers apart.</summary>
    protected static string NextId() => Interlocked.Increment(ref s_ids).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
}
