using System.Text;
using System.Text.Json;

namespace Serverless.Bench;

/// <summary>
/// The OpenAI chat completion requests every scenario sends: about 1 KB of JSON, as a short real conversation is.
/// A model named <c>bench-paced-N</c> asks the mock upstream to wait N ms between stream events.
/// </summary>
internal static class RequestBodies
{
    public const string Model = "bench-model";

    private const string System =
        "You are a concise assistant for an engineering team. Answer in plain English, cite the relevant standard " +
        "when one exists, prefer short paragraphs over lists, and say so plainly when you do not know the answer. " +
        "Never invent an API or a command-line flag; when unsure, describe how to find out instead.";

    private const string User =
        "We run an HTTP gateway in front of several language-model providers. Under load the p99 latency grows " +
        "much faster than the median, even though CPU usage stays below sixty percent on both cores. The gateway " +
        "streams server-sent events and flushes after every event. Connections to the upstream are pooled and kept " +
        "alive. What are the three most likely causes, in order of likelihood, and what single measurement would " +
        "tell each of them apart from the others? Keep the answer under two hundred words, please.";

    public static byte[] Build(string model, bool stream)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            json.WriteStartArray("messages");
            WriteMessage(json, "system", System);
            WriteMessage(json, "user", User);
            json.WriteEndArray();
            json.WriteNumber("temperature", 0.2);
            json.WriteNumber("max_tokens", 256);
            json.WriteString("user", "bench-user-0001");
            if (stream)
            {
                json.WriteBoolean("stream", true);
                json.WriteStartObject("stream_options");
                json.WriteBoolean("include_usage", true);
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteMessage(Utf8JsonWriter json, string role, string content)
    {
        json.WriteStartObject();
        json.WriteString("role", role);
        json.WriteString("content", content);
        json.WriteEndObject();
    }

    public static int Write(CommandLine options)
    {
        var dir = options.Required("dir");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "chat.json"), Build(Model, stream: false));
        File.WriteAllBytes(Path.Combine(dir, "chat-stream.json"), Build(Model, stream: true));
        File.WriteAllBytes(Path.Combine(dir, "pool-chat.json"), Build(AccountPoolCase.Model, stream: false));
        File.WriteAllBytes(Path.Combine(dir, "pool-chat-stream.json"), Build(AccountPoolCase.Model, stream: true));
        Console.WriteLine(Encoding.UTF8.GetString(Build(Model, stream: false)).Length + " bytes");
        return 0;
    }
}
