using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Tests.EndToEnd;

/// <summary>What a test asks for, in whichever client API.</summary>
public enum Scenario
{
    /// <summary>A system prompt and one user message.</summary>
    Text,
    /// <summary>A user message with a base64 image and an image URL.</summary>
    Images,
    /// <summary>A tool is declared and the question calls for it.</summary>
    ToolCall,
    /// <summary>The conversation carries a tool call and its result.</summary>
    ToolResult,
}

/// <summary>What a client made of the answer, normalised across APIs. Input is all input tokens, cached included.</summary>
internal sealed record ClientResult(
    string Text,
    IReadOnlyList<(string Name, string Arguments)> ToolCalls,
    string Stop,
    long TotalInput,
    long CacheRead,
    long Output,
    bool EndedCleanly,
    int Events);

/// <summary>
/// One client API, spoken by hand from its public wire format (not through the relay's own format code, so a
/// translation bug cannot hide behind a shared mistake).
/// </summary>
internal abstract class ClientDriver
{
    public const string ImageBase64 = "iVBORw0KGgo="; // 8 bytes: the PNG signature
    public const string ImageUrl = "https://example.com/cat.jpg";
    public const string SystemText = "Be brief";
    public const string ToolResultText = "sunny, 21C";

    public abstract string Name { get; }

    public abstract HttpRequestMessage Build(Scenario scenario, string model, bool stream, string key, int? maxTokens = null);

    public abstract ClientResult Read(string body, bool stream);

    public override string ToString() => Name;

    protected static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    protected static JsonObject WeatherSchema() => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["city"] = new JsonObject { ["type"] = "string", ["description"] = "City name" } },
        ["required"] = new JsonArray("city"),
    };

    /// <summary>Splits an SSE body into (event, data) pairs.</summary>
    protected static List<(string? Event, string Data)> Sse(string body)
    {
        var events = new List<(string?, string)>();
        foreach (var frame in body.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            var data = new StringBuilder();
            foreach (var line in frame.Split('\n'))
            {
                if (line.StartsWith("event:", StringComparison.Ordinal))
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
                events.Add((name, data.ToString()));
            }
        }

        return events;
    }

    protected static long Long(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : 0;
}

internal sealed class OpenAIChatDriver : ClientDriver
{
    public override string Name => "openai-chat";

    public override HttpRequestMessage Build(Scenario scenario, string model, bool stream, string key, int? maxTokens = null)
    {
        var messages = new JsonArray { new JsonObject { ["role"] = "system", ["content"] = SystemText } };
        var body = new JsonObject { ["model"] = model, ["messages"] = messages, ["temperature"] = 0.5, ["max_tokens"] = maxTokens ?? 100 };
        switch (scenario)
        {
            case Scenario.Text:
                messages.Add(new JsonObject { ["role"] = "user", ["content"] = "hello there" });
                break;
            case Scenario.Images:
                messages.Add(new JsonObject
                {
                    ["role"] = "user",
                    ["content"] = new JsonArray
                    {
                        new JsonObject { ["type"] = "text", ["text"] = "what is this" },
                        new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "data:image/png;base64," + ImageBase64 } },
                        new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = ImageUrl } },
                    },
                });
                break;
            case Scenario.ToolCall:
            case Scenario.ToolResult:
                body["tools"] = new JsonArray { new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_weather", ["description"] = "Weather for a city", ["parameters"] = WeatherSchema() } } };
                messages.Add(new JsonObject { ["role"] = "user", ["content"] = "what is the weather in Paris?" });
                if (scenario == Scenario.ToolResult)
                {
                    messages.Add(new JsonObject
                    {
                        ["role"] = "assistant",
                        ["content"] = null,
                        ["tool_calls"] = new JsonArray { new JsonObject { ["id"] = "call_1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = "{\"city\":\"Paris\"}" } } },
                    });
                    messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_1", ["content"] = ToolResultText });
                }

                break;
        }

        if (stream)
        {
            body["stream"] = true;
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = Json(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    public override ClientResult Read(string body, bool stream)
    {
        var text = new StringBuilder();
        var calls = new SortedDictionary<int, (string Name, StringBuilder Args)>();
        string stop = "";
        JsonElement usage = default;
        var ended = !stream;
        var events = 0;
        if (!stream)
        {
            var root = JsonDocument.Parse(body).RootElement;
            var message = root.GetProperty("choices")[0].GetProperty("message");
            if (message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
            {
                text.Append(content.GetString());
            }

            if (message.TryGetProperty("tool_calls", out var toolCalls) && toolCalls.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var call in toolCalls.EnumerateArray())
                {
                    calls[i++] = (call.GetProperty("function").GetProperty("name").GetString()!, new StringBuilder(call.GetProperty("function").GetProperty("arguments").GetString()));
                }
            }

            stop = root.GetProperty("choices")[0].GetProperty("finish_reason").GetString()!;
            usage = root.GetProperty("usage").Clone();
        }
        else
        {
            foreach (var (_, data) in Sse(body))
            {
                events++;
                if (data == "[DONE]")
                {
                    ended = true;
                    continue;
                }

                var chunk = JsonDocument.Parse(data).RootElement;
                if (chunk.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
                {
                    usage = u.Clone();
                }

                foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
                {
                    var delta = choice.GetProperty("delta");
                    if (delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                    {
                        text.Append(c.GetString());
                    }

                    if (delta.TryGetProperty("tool_calls", out var tc))
                    {
                        foreach (var call in tc.EnumerateArray())
                        {
                            var index = call.GetProperty("index").GetInt32();
                            var function = call.GetProperty("function");
                            if (!calls.TryGetValue(index, out var entry))
                            {
                                entry = (function.GetProperty("name").GetString()!, new StringBuilder());
                                calls[index] = entry;
                            }

                            if (function.TryGetProperty("arguments", out var a))
                            {
                                entry.Args.Append(a.GetString());
                            }
                        }
                    }

                    if (choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String)
                    {
                        stop = f.GetString()!;
                    }
                }
            }
        }

        var cached = usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty("prompt_tokens_details", out var details) ? Long(details, "cached_tokens") : 0;
        return new ClientResult(
            text.ToString(),
            calls.Values.Select(c => (c.Name, c.Args.ToString())).ToArray(),
            stop switch { "tool_calls" => "tool", "length" => "max", "stop" => "end", _ => stop },
            Long(usage, "prompt_tokens"),
            cached,
            Long(usage, "completion_tokens"),
            ended,
            events);
    }
}
