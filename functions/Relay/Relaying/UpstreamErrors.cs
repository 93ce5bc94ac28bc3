using System.Text.Json;
using Serverless.Relay.Accounts;
using Serverless.Relay.Failover;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Maps an upstream refusal to the relay's error, so each client sees it in its own format. The kind comes from
/// <see cref="UpstreamStatus"/>, the same table that marks the account.
/// </summary>
internal static class UpstreamErrors
{
    /// <summary>
    /// What the client is told of an attempt that failed before the first byte: the upstream's own error exactly as it
    /// came when it speaks the client's format (except a refused account), else the relay's error.
    /// </summary>
    public static (RelayError? Error, RelayedError? Relayed) Of(UpstreamAttempt last)
    {
        if (last.Error is { } broken)
        {
            return (broken, null);
        }

        if (last.Passthrough && last.Failure is not FailureKind.Unauthorized)
        {
            return (null, new RelayedError(last.Body, last.ContentType, last.RetryAfter));
        }

        return (FromStatus(last.Status, last.Body.Span, last.UpstreamFormat!, last.Candidate.Account, last.RetryAfter), null);
    }

    /// <summary>
    /// The same failure as the relay's own error, for a client whose stream has already started (a heartbeat went
    /// out): an upstream's error body cannot be relayed as it came inside an event stream.
    /// </summary>
    public static RelayError InStream(UpstreamAttempt last) =>
        last.Error ?? FromStatus(last.Status, last.Body.Span, last.UpstreamFormat!, last.Candidate.Account, last.RetryAfter);

    public static RelayError FromStatus(int status, ReadOnlySpan<byte> body, IChatFormat upstreamFormat, UpstreamAccount account, TimeSpan? retryAfter)
    {
        // NOTE: a refused account (401/403, or Gemini's 400 API_KEY_INVALID) means the relay's account was refused, not
        // the client's key; its message can quote part of the account's key, so it is not passed on.
        var classified = UpstreamStatus.Classify(status, body);
        if (classified.Failure is FailureKind.Unauthorized)
        {
            return new RelayError(ErrorKind.Upstream, $"The upstream account '{account.Name}' was refused by {account.Provider.WireName()} ({status}).");
        }

        var message = ReadMessage(body, upstreamFormat) ?? $"HTTP {status}";
        if (status is 400 or 413 && IsContextExceeded(message))
        {
            // NOTE: agents compact their conversation when told it no longer fits, each by its own API's words: Claude
            // Code looks for "prompt is too long" in the message, OpenAI's clients (Codex) for the code
            // context_length_exceeded. Another provider's words for it would end the session instead.
            var said = message.Contains(PromptTooLong, StringComparison.OrdinalIgnoreCase) ? message : $"{PromptTooLong}: {message}";
            return new RelayError(classified.Kind, $"Upstream error from {account.Provider.WireName()}: {said}") { Code = ContextLengthExceeded };
        }

        return new RelayError(classified.Kind, $"Upstream error from {account.Provider.WireName()}: {message}") { RetryAfter = retryAfter };
    }

    private const string PromptTooLong = "prompt is too long";

    private const string ContextLengthExceeded = "context_length_exceeded";

    /// <summary>
    /// Whether an upstream's refusal says the prompt does not fit the model's context: OpenAI ("maximum context length",
    /// Responses "exceeds the context window"), Anthropic ("prompt is too long", "exceed context limit"), Gemini ("exceeds
    /// the maximum number of tokens allowed"), and compatible servers, which copy OpenAI's words.
    /// </summary>
    internal static bool IsContextExceeded(string message) =>
        message.Contains(ContextLengthExceeded, StringComparison.OrdinalIgnoreCase)
        || message.Contains("context length", StringComparison.OrdinalIgnoreCase)
        || message.Contains("context window", StringComparison.OrdinalIgnoreCase)
        || message.Contains(PromptTooLong, StringComparison.OrdinalIgnoreCase)
        || message.Contains("exceed context limit", StringComparison.OrdinalIgnoreCase)
        || message.Contains("exceeds the maximum number of tokens allowed", StringComparison.OrdinalIgnoreCase);

    private static string? ReadMessage(ReadOnlySpan<byte> body, IChatFormat format)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            return format.ReadErrorMessage(document.RootElement);
        }
        catch (JsonException)
        {
            return body.Length is > 0 and < 300 ? System.Text.Encoding.UTF8.GetString(body) : null;
        }
    }
}
