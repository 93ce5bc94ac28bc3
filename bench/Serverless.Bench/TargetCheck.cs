using System.Text.Json;

namespace Serverless.Bench;

/// <summary>One call before any load: the target must answer a correct completion or a complete stream, or the run stops.</summary>
internal static class TargetCheck
{
    public static async Task<int> RunAsync(CommandLine options)
    {
        var stream = options.Flag("stream");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = Requests.Post(options.Required("url"), options.Headers(), RequestBodies.Build(options.Optional("model") ?? RequestBodies.Model, stream));
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        string? problem = null;
        if (!response.IsSuccessStatusCode)
        {
            problem = $"status {(int)response.StatusCode}: {Truncate(text)}";
        }
        else if (!stream)
        {
            using var json = JsonDocument.Parse(text);
            var root = json.RootElement;
            if (!root.TryGetProperty("choices", out var choices) || choices.GetArrayLength() != 1 || !root.TryGetProperty("usage", out _))
            {
                problem = "not a chat completion with usage: " + Truncate(text);
            }
        }
        else
        {
            var events = new SseSplitter().Add(System.Text.Encoding.UTF8.GetBytes(text));
            var content = events.Count(e => e == SseKind.Content);
            if (content != MockUpstream.StreamEvents || !events.Contains(SseKind.Done) || !events.Contains(SseKind.Usage))
            {
                problem = $"stream had {content} content events (want {MockUpstream.StreamEvents}), usage {events.Contains(SseKind.Usage)}, [DONE] {events.Contains(SseKind.Done)}: {Truncate(text)}";
            }
        }

        Console.WriteLine(problem is null ? $"ok ({text.Length} bytes)" : "FAILED " + problem);
        return problem is null ? 0 : 1;
    }

    private static string Truncate(string text) => text.Length > 400 ? text[..400] + "…" : text;
}

internal static class Requests
{
    public static HttpRequestMessage Post(string url, IEnumerable<KeyValuePair<string, string>> headers, byte[] body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } },
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }
}
