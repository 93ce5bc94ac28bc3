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
    // NOTE: loading the o200k vocabulary takes tens of milliseconds of CPU; it must not delay the handler's readiness,
    // so it loads on first use (or when WarmUp runs in the background after start).
    private readonly Lazy<TiktokenCounter> _counter = new(TiktokenCounter.O200kBase, LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly TokenCountCache _cache = new();
    private readonly TextCounter _countTokens;

    public TokenEstimator() => _countTokens = text => _counter.Value.CountTokens(text);

    /// <summary>Loads the vocabulary now, off the request path.</summary>
    public void WarmUp() => _ = _counter.Value;

    public int CountText(string text) => CountText(text.AsSpan());

    public int CountText(ReadOnlySpan<char> text) => _cache.GetOrCount(text, _countTokens);

    /// <summary>A tally to hand one prompt to, part by part (<see cref="IPromptTally"/>).</summary>
    public PromptTally Tally() => new(this);

    public int Count(ChatRequest request)
    {
        var tally = Tally();
        foreach (var part in request.System)
        {
            tally.AddText(part.Text);
        }

        foreach (var tool in request.Tools)
        {
            tally.AddText(tool.Name);
            tally.AddText(tool.Description ?? "");
            tally.AddText(tool.Parameters.ToJsonString());
        }

        foreach (var message in request.Messages)
        {
            tally.AddMessage();
            Add(tally, message.Content);
        }

        return tally.Total;
    }

    private static void Add(PromptTally tally, IReadOnlyList<ContentPart> parts)
    {
        foreach (var part in parts)
        {
            switch (part)
            {
                case TextPart text:
                    tally.AddText(text.Text);
                    break;
                case ImagePart:
                    tally.AddImage();
                    break;
                case DocumentPart:
                    tally.AddDocument();
                    break;
                case ToolCallPart call:
                    tally.AddText(call.Name);
                    tally.AddText(call.ArgumentsJson);
                    break;
                case ToolResultPart result:
                    Add(tally, result.Content);
                    break;
                case ThinkingPart thinking:
                    tally.AddText(thinking.Text);
                    break;
            }
        }
    }
}
