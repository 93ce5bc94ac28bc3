using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Tests.EndToEnd;

internal sealed class AnthropicDriver : ClientDriver
{
    public override string Name => "anthropic";

    public override HttpRequestMessage Build(Scenario scenario, string model, bool stream, string key, int? maxTokens = null)
    {
        var messages = new JsonArray();
        var body = new JsonObject { ["model"] = model, ["max_tokens"] = maxTokens ?? 100, ["system"] = SystemText, ["messages"] = messages, ["temperature"] = 0.5 };
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
                        new JsonObject { ["type"] = "image", ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = "image/png", ["data"] = ImageBase64 } },
                        new JsonObject { ["type"] = "image", ["source"] = new JsonObject { ["type"] = "url", ["url"] = ImageUrl } },
                    },
                });
                break;
            case Scenario.ToolCall:
            case Scenario.ToolResult:
                body["tools"] = new JsonArray { new JsonObject { ["name"] = "get_weather", ["description"] = "Weather for a city", ["input_schema"] = WeatherSchema() } };
                messages.Add(new JsonObject { ["role"] = "user", ["content"] = "what is the weather in Paris?" });
                if (scenario == Scenario.ToolResult)
                {
                    messages.Add(new JsonObject
                    {
                        ["role"] = "assistant",
                        ["content"] = new JsonArray { new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_1", ["name"] = "get_weather", ["input"] = new JsonObject { ["city"] = "Paris" } } },
                    });
                    messages.Add(new JsonObject
                    {
                        ["role"] = "user",
                        ["content"] = new JsonArray { new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = "toolu_1", ["content"] = ToolResultText } },
                    });
                }

                break;
        }

        if (stream)
        {
            body["stream"] = true;
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "v1/messages") { Content = Json(body) };
        request.Headers.Add("x-api-key", key);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return request;
    }

    public override ClientResult Read(string body, bool stream)
    {
        var text = new StringBuilder();
        var calls = new List<(string Name, StringBuilder Args)>();
        string stop = "";
        long input = 0, cacheRead = 0, cacheWrite = 0, output = 0;
        var ended = !stream;
        var events = 0;

        void TakeUsage(JsonElement usage)
        {
            if (usage.TryGetProperty("input_tokens", out var i) && i.ValueKind == JsonValueKind.Number) { input = i.GetInt64(); }
            if (usage.TryGetProperty("cache_read_input_tokens", out var r) && r.ValueKind == JsonValueKind.Number) { cacheRead = r.GetInt64(); }
            if (usage.TryGetProperty("cache_creation_input_tokens", out var w) && w.ValueKind == JsonValueKind.Number) { cacheWrite = w.GetInt64(); }
            if (usage.TryGetProperty("output_tokens", out var o) && o.ValueKind == JsonValueKind.Number) { output = o.GetInt64(); }
        }

        if (!stream)
        {
            var root = JsonDocument.Parse(body).RootElement;
            foreach (var block in root.GetProperty("content").EnumerateArray())
            {
                switch (block.GetProperty("type").GetString())
                {
                    case "text": text.Append(block.GetProperty("text").GetString()); break;
                    case "tool_use": calls.Add((block.GetProperty("name").GetString()!, new StringBuilder(block.GetProperty("input").GetRawText()))); break;
                }
            }

            stop = root.GetProperty("stop_reason").GetString()!;
            TakeUsage(root.GetProperty("usage"));
        }
        else
        {
            var open = new Dictionary<int, int>();
            foreach (var (name, data) in Sse(body))
            {
                events++;
                var e = JsonDocument.Parse(data).RootElement;
                var type = e.GetProperty("type").GetString();
                if (type != name)
                {
                    throw new InvalidOperationException($"event name '{name}' differs from type '{type}'");
                }

                switch (type)
                {
                    case "message_start": TakeUsage(e.GetProperty("message").GetProperty("usage")); break;
                    case "content_block_start":
                        var block = e.GetProperty("content_block");
                        if (block.GetProperty("type").GetString() == "tool_use")
                        {
                            open[e.GetProperty("index").GetInt32()] = calls.Count;
                            calls.Add((block.GetProperty("name").GetString()!, new StringBuilder()));
                        }

                        break;
                    case "content_block_delta":
                        var delta = e.GetProperty("delta");
                        switch (delta.GetProperty("type").GetString())
                        {
                            case "text_delta": text.Append(delta.GetProperty("text").GetString()); break;
                            case "input_json_delta": calls[open[e.GetProperty("index").GetInt32()]].Args.Append(delta.GetProperty("partial_json").GetString()); break;
                        }

                        break;
                    case "message_delta":
                        stop = e.GetProperty("delta").GetProperty("stop_reason").GetString()!;
                        TakeUsage(e.GetProperty("usage"));
                        break;
                    case "message_stop": ended = true; break;
                }
            }
        }

        return new ClientResult(
            text.ToString(),
            calls.Select(c => (c.Name, c.Args.ToString())).ToArray(),
            stop switch { "tool_use" => "tool", "max_tokens" => "max", "end_turn" => "end", _ => stop },
            input + cacheRead + cacheWrite,
            cacheRead,
            output,
            ended,
            events);
    }
}
