using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Json;

/// <summary>
/// Puts back the declared names of the tools an upstream got under other names (<see cref="UpstreamToolNames"/>) in
/// the calls of its answer, whole or streamed, before the client's format writes them: the client runs the tool it
/// declared, and the client encoders that look a called tool up among the declared ones (a Responses namespace, a
/// custom tool) find it.
/// </summary>
internal sealed class ToolNameMap(Dictionary<string, string> declared)
{
    /// <summary>The answer with each call to a renamed tool under its declared name; the same answer when none is.</summary>
    public ChatResponse Restore(ChatResponse answer)
    {
        List<ContentPart>? content = null;
        for (var i = 0; i < answer.Content.Count; i++)
        {
            if (answer.Content[i] is ToolCallPart call && declared.TryGetValue(call.Name, out var name))
            {
                content ??= [.. answer.Content];
                content[i] = call with { Name = name };
            }
        }

        return content is null ? answer : answer with { Content = content };
    }

    /// <summary>Renames, in place, the calls to renamed tools that start among <paramref name="events"/>.</summary>
    public void Restore(List<StreamEvent> events)
    {
        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is ToolCallStarted started && declared.TryGetValue(started.Name, out var name))
            {
                events[i] = started with { Name = name };
            }
        }
    }
}
