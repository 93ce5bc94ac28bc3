using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Serverless.Bench;

/// <summary>
/// The fastest honest OpenAI upstream we can write: <c>POST /v1/chat/completions</c> reads and parses the request,
/// answers ~1 KB of JSON with usage, or 50 <c>chat.completion.chunk</c> events (+ a usage chunk when asked, + [DONE])
/// flushed one by one. No delay unless the model is <c>bench-paced-N</c> (N ms between events). Requests made with a
/// credential of the several-accounts case (<see cref="AccountPoolCase"/>) are counted per credential, read at
/// <c>GET /accounts</c>.
/// </summary>
internal static class MockUpstream
{
    public const int StreamEvents = 50;
    private const string Id = "chatcmpl-bench0000000000000000000001";
    private const long Created = 1_763_900_000;

    private static readonly string[] Words =
        ["Queueing ", "in ", "the ", "thread ", "pool ", "is ", "the ", "usual ", "suspect; ", "measure ", "the ",
         "time ", "each ", "request ", "waits ", "before ", "its ", "first ", "byte ", "is ", "read. "];

    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();

    public static async Task<int> RunAsync(CommandLine options)
    {
        var port = options.Int("port", 0);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;

            // Kestrel's default (30 MB) would refuse bench/memory's 31 MB bodies, which the relay accepts (32 MB).
            k.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
            k.Listen(System.Net.IPAddress.Loopback, port);
        });

        var app = builder.Build();
        var answers = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var streams = new Dictionary<(string, bool), byte[][]>();
        var served = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        app.MapGet("/", static () => "ok");
        app.MapGet("/accounts", () => served);
        app.MapPost("/v1/chat/completions", context =>
        {
            var credential = context.Request.Headers.Authorization.ToString();
            if (credential.StartsWith(AccountPoolCase.CredentialPrefix, StringComparison.Ordinal))
            {
                served.AddOrUpdate(credential[AccountPoolCase.CredentialPrefix.Length..], 1, static (_, n) => n + 1);
            }

            return AnswerAsync(context, answers, streams);
        });
        await app.StartAsync();

        var url = app.Urls.First();
        if (options.Optional("ready-file") is { } readyFile)
        {
            await File.WriteAllTextAsync(readyFile, new Uri(url).Port.ToString(CultureInfo.InvariantCulture));
        }

        await Console.Out.WriteLineAsync("upstream listening on " + url);
        await app.WaitForShutdownAsync();
        return 0;
    }

    // NOTE: answers are built once per model and cached, so the mock spends its CPU on HTTP, not on writing JSON.
    private static async Task AnswerAsync(HttpContext context, Dictionary<string, byte[]> answers, Dictionary<(string, bool), byte[][]> streams)
    {
        string model;
        bool stream;
        bool usage;
        using (var request = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))
        {
            var root = request.RootElement;
            model = root.TryGetProperty("model", out var m) ? m.GetString() ?? "" : "";
            stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
            usage = root.TryGetProperty("stream_options", out var o) && o.ValueKind == JsonValueKind.Object
                && o.TryGetProperty("include_usage", out var u) && u.ValueKind == JsonValueKind.True;
        }

        if (!stream)
        {
            byte[]? body;
            lock (answers)
            {
                if (!answers.TryGetValue(model, out body))
                {
                    answers[model] = body = Completion(model);
                }
            }

            context.Response.ContentType = "application/json";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
            return;
        }

        var delay = PaceOf(model);
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        byte[][]? events;
        lock (streams)
        {
            if (!streams.TryGetValue((model, usage), out events))
            {
                streams[(model, usage)] = events = StreamEventsFor(model, usage);
            }
        }

        var output = context.Response.Body;
        for (var i = 0; i < events.Length; i++)
        {
            if (i > 0 && i < StreamEvents && delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, context.RequestAborted);
            }

            await output.WriteAsync(events[i], context.RequestAborted);
            await output.FlushAsync(context.RequestAborted);
        }
    }

    private static byte[][] StreamEventsFor(string model, bool usage)
    {
        var events = new List<byte[]>();
        for (var i = 0; i < StreamEvents; i++)
        {
            events.Add(Chunk(model, i, usage));
        }

        if (usage)
        {
            events.Add(UsageChunk(model));
        }

        events.Add(Done);
        return [.. events];
    }

    private static byte[] Completion(string model)
    {
        var length = LongAnswerBytesOf(model) ?? 700;
        var content = new StringBuilder(length + 16);
        while (content.Length < length)
        {
            content.Append(Words[content.Length % Words.Length]);
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", Id);
            json.WriteString("object", "chat.completion");
            json.WriteNumber("created", Created);
            json.WriteString("model", model);
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            json.WriteStartObject("message");
            json.WriteString("role", "assistant");
            json.WriteString("content", content.ToString());
            json.WriteNull("refusal");
            json.WriteEndObject();
            json.WriteNull("logprobs");
            json.WriteString("finish_reason", "stop");
            json.WriteEndObject();
            json.WriteEndArray();
            WriteUsage(json);
            json.WriteString("system_fingerprint", "fp_bench");
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static byte[] Chunk(string model, int index, bool usage)
    {
        using var buffer = new MemoryStream();
        buffer.Write("data: "u8);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", Id);
            json.WriteString("object", "chat.completion.chunk");
            json.WriteNumber("created", Created);
            json.WriteString("model", model);
            json.WriteString("system_fingerprint", "fp_bench");
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            json.WriteStartObject("delta");
            if (index == 0)
            {
                json.WriteString("role", "assistant");
            }

            json.WriteString("content", Words[index % Words.Length]);
            json.WriteEndObject();
            json.WriteNull("logprobs");
            if (index == StreamEvents - 1)
            {
                json.WriteString("finish_reason", "stop");
            }
            else
            {
                json.WriteNull("finish_reason");
            }

            json.WriteEndObject();
            json.WriteEndArray();
            if (usage)
            {
                json.WriteNull("usage");
            }

            json.WriteEndObject();
        }

        buffer.Write("\n\n"u8);
        return buffer.ToArray();
    }

    private static byte[] UsageChunk(string model)
    {
        using var buffer = new MemoryStream();
        buffer.Write("data: "u8);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", Id);
            json.WriteString("object", "chat.completion.chunk");
            json.WriteNumber("created", Created);
            json.WriteString("model", model);
            json.WriteString("system_fingerprint", "fp_bench");
            json.WriteStartArray("choices");
            json.WriteEndArray();
            WriteUsage(json);
            json.WriteEndObject();
        }

        buffer.Write("\n\n"u8);
        return buffer.ToArray();
    }

    private static void WriteUsage(Utf8JsonWriter json)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", 212);
        json.WriteNumber("completion_tokens", StreamEvents);
        json.WriteNumber("total_tokens", 212 + StreamEvents);
        json.WriteStartObject("prompt_tokens_details");
        json.WriteNumber("cached_tokens", 0);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>How much answer text a non-streamed answer for <paramref name="model"/> carries: N MB for <c>bench-long-N</c>, else null (700 bytes).</summary>
    public static int? LongAnswerBytesOf(string model) => model.StartsWith("bench-long-", StringComparison.Ordinal)
        ? int.Parse(model["bench-long-".Length..], CultureInfo.InvariantCulture) * 1024 * 1024
        : null;

    /// <summary>How long the upstream waits between a stream's events for <paramref name="model"/>: N ms for <c>bench-paced-N</c>, else none.</summary>
    public static TimeSpan PaceOf(string model) => model.StartsWith("bench-paced-", StringComparison.Ordinal)
        ? TimeSpan.FromMilliseconds(int.Parse(model["bench-paced-".Length..], CultureInfo.InvariantCulture))
        : TimeSpan.Zero;
}
