using System.Globalization;
using System.Text;

namespace Serverless.Bench;

/// <summary>
/// Issue 11's memory case: N chat requests of M MB each, all at once (one key), R rounds one after another. Prints one
/// JSON line with the statuses seen; bench/memory reads the target's resident set around it. With <c>--model
/// bench-long-N</c> (and <c>--mb 0</c>) the bodies are small and each answer carries N MB instead.
/// </summary>
internal static class LargeBodies
{
    public static async Task<int> RunAsync(CommandLine options)
    {
        var count = options.Int("count", 8);
        var megabytes = options.Int("mb", 31);
        var rounds = options.Int("rounds", 1);
        var body = Build(options.Optional("model") ?? RequestBodies.Model, Math.Max(0, megabytes * 1024 * 1024 - 256));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { Timeout = TimeSpan.FromMinutes(5) };
        var statuses = new SortedDictionary<int, int>();
        for (var round = 0; round < rounds; round++)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
            {
                using var request = Requests.Post(options.Required("url"), options.Headers(), body);
                try
                {
                    using var response = await http.SendAsync(request);
                    await response.Content.ReadAsByteArrayAsync();
                    return (int)response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    return 0; // the connection was closed before an answer (e.g. a refusal while the body was still being sent)
                }
            }));
            foreach (var status in answers)
            {
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
            }
        }

        var counts = string.Join(",", statuses.Select(s => $"\"{s.Key.ToString(CultureInfo.InvariantCulture)}\":{s.Value.ToString(CultureInfo.InvariantCulture)}"));
        Console.WriteLine($"{{\"count\":{count},\"mb\":{megabytes},\"model\":\"{options.Optional("model") ?? RequestBodies.Model}\",\"rounds\":{rounds},\"statuses\":{{{counts}}}}}");
        return 0;
    }

    /// <summary>An OpenAI chat body whose first user message is <paramref name="padding"/> characters of text.</summary>
    private static byte[] Build(string model, int padding)
    {
        var json = new StringBuilder(padding + 256);
        json.Append("{\"model\":\"").Append(model).Append("\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"");
        for (var i = 0; i < padding; i++)
        {
            json.Append((char)('a' + (i % 26)));
        }

        json.Append("\"}],\"max_tokens\":16}");
        return Encoding.UTF8.GetBytes(json.ToString());
    }
}
