using System.Text.Json;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Limits;

/// <summary>
/// Counts a request's input tokens with a real BPE tokenizer (o200k_base, <see cref="TiktokenCounter"/>) when the
/// upstream has no count endpoint.
/// It is an estimate for non-OpenAI models, whose tokenizers are not public: close, never exact.
/// </summary>
internal sealed class TokenEstimator
{
    // Per-message framing (role markers), as OpenAI documents for its chat format.
    private const int PerMessage = 3;
    private const int PerRequest = 3;

    // An image's size is unknown without decoding it; this is Anthropic's figure for a ~1.15 megapixel image.
    private const int PerImage = 1600;

    // NOTE: loading the o200k vocabulary takes tens of milliseconds of CPU; it must not delay the handler's readiness,
    // so it loads on first use (or when WarmUp runs in the background after start).
    private readonly Lazy<TiktokenCounter> _counter = new(TiktokenCounter.O200kBase, LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly TokenCountCache _cache = new();
    private readonly Func<string, int> _countTokens;

    public TokenEstimator() => _countTokens = text => _counter.Value.CountTokens(text);

    /// <summary>Loads the vocabulary now, off the request path.</summary>
    public void WarmUp() => _ = _counter.Value;

    public int CountText(string text) => _cache.GetOrCount(text, _countTokens);

    public int Count(ChatRequest request)
    {
        var total = PerRequest;
        foreach (var part in request.System)
        {
            total += CountText(part.Text);
        }

        foreach (var tool in request.Tools)
        {
            total += CountText(tool.Name) + CountText(tool.Description ?? "") + CountText(tool.Parameters.ToJsonString());
        }

        foreach (var message in request.Messages)
        {
            total += PerMessage + Count(message.Content);
        }

        return total;
    }

    private int Count(IReadOnlyList<ContentPart> parts)
    {
        var total = 0;
        foreach (var part in parts)
        {
            total += part switch
            {
                TextPart text => CountText(text.Text),
                ImagePart => PerImage,
                ToolCallPart call => CountText(call.Name) + CountText(call.ArgumentsJson),
                ToolResultPart result => Count(result.Content),
                ThinkingPart thinking => CountText(thinking.Text),
                _ => 0,
            };
        }

        return total;
    }
}
