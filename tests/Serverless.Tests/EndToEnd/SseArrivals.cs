using System.Diagnostics;
using System.Text;

namespace Serverless.Tests.EndToEnd;

/// <summary>One SSE event as a client received it, with when it arrived.</summary>
internal sealed record ArrivedEvent(TimeSpan At, string? Event, string Data);

/// <summary>Reads an SSE response line by line as bytes arrive, stamping each event (a plain reader, not the relay's).</summary>
internal static class SseArrivals
{
    public static async IAsyncEnumerable<ArrivedEvent> ReadAsync(HttpResponseMessage response, Stopwatch clock, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        string? name = null;
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    yield return new ArrivedEvent(clock.Elapsed, name, data.ToString());
                }

                name = null;
                data.Clear();
            }
            else if (line.StartsWith("event:", StringComparison.Ordinal))
            {
                name = line[6..].Trim();
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Append(line[5..].TrimStart());
            }
        }

        if (data.Length > 0)
        {
            yield return new ArrivedEvent(clock.Elapsed, name, data.ToString());
        }
    }
}
