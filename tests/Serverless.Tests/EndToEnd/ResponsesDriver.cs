using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Tests.EndToEnd;

internal sealed class ResponsesDriver : ClientDriver
{
    public override string Name => "openai-responses";

    public override HttpRequestMessage Build(Scenario scenario, string model, bool stream, string key, int? maxTokens = null)
    {
        var input = new JsonArray();
        var body = new JsonObject { ["model"] = model, ["instructions"] = SystemText, ["input"] = input, ["temperature"] = 0.5, ["max_output_tokens"] = maxTokens ?? 100 };
        switch (scenario)
        {
            case Scenario.Text:
                input.Add(new JsonObject { ["role"] = "user", ["content"] = "hello there" });
                break;
            case Scenario.Images:
                input.Add(new JsonObject
                {
                    ["role"] = "user",
                    ["content"] = new JsonArray
                    {
                        new JsonObject { ["type"] = "input_text", ["text"] = "what is this" },
                        new JsonObject { ["type"] = "input_image", ["image_url"] = "data:image/png;base64," + ImageBase64 },
                        new JsonObject { ["type"] = "input_image", ["image_url"] = ImageUrl },
                    },
                });
                break;
            case Scenario.ToolCall:
            case Scenario.ToolResult:
                body["tools"] = new JsonArray { new JsonObject { ["type"] = "function", ["name"] = "get_weather", ["description"] = "Weather for a city", ["parameters"] = WeatherSchema() } };
                input.Add(new JsonObject { ["role"] = "user", ["content"] = "what is the weather in Paris?" });
                if (scenario == Scenario.ToolResult)
                {
                    input.Add(new JsonObject { ["type"] = "function_call", ["call_id"] = "call_1", ["name"] = "get_weather", ["arguments"] = "{\"city\":\"Paris\"}" });
                    input.Add(new JsonObject { ["type"] = "function_call_output", ["call_id"] = "call_1", ["output"] = ToolResultText });
                }

                break;
        }

        if (stream)
        {
            body["stream"] = true;
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "v1/responses") { Content = Json(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return request;
    }

    public override ClientResult Read(string body, bool stream)
    {
        JsonElement response = default;
        var streamedText = new StringBuilder();
        var events = 0;
        var ended = !stream;
        if (!stream)
        {
            response = JsonDocument.Parse(body).RootElement;
        }
        else
        {
            var sequence = -1L;
            foreach (var (name, data) in Sse(body))
            {
                events++;
                var e = JsonDocument.Parse(data).RootElement;
                if (e.GetProperty("type").GetString() != name)
                {
                    throw new InvalidOperationException($"event name '{name}' differs from its type");
                }

                var number = e.GetProperty("sequence_number").GetInt64();
                if (number <= sequence)
                {
                    throw new InvalidOperationException("sequence_number must increase");
                }

                sequence = number;
                switch (name)
                {
                    case "response.output_text.delta": streamedText.Append(e.GetProperty("delta").GetString()); break;
                    case "response.completed" or "response.incomplete":
                        response = e.GetProperty("response").Clone();
                        ended = true;
                        break;
                }
            }
        }

        var text = new StringBuilder();
        var calls = new List<(string, string)>();
        foreach (var item in response.GetProperty("output").EnumerateArray())
        {
            switch (item.GetProperty("type").GetString())
            {
                case "message":
                    foreach (var part in item.GetProperty("content").EnumerateArray())
                    {
                        if (part.GetProperty("type").GetString() == "output_text")
                        {
                            text.Append(part.GetProperty("text").GetString());
                        }
                    }

                    break;
                case "function_call":
                    calls.Add((item.GetProperty("name").GetString()!, item.GetProperty("arguments").GetString()!));
                    break;
            }
        }

        if (stream && streamedText.ToString() != text.ToString())
        {
            throw new InvalidOperationException($"streamed text '{streamedText}' differs from the completed response '{text}'");
        }

        var usage = response.GetProperty("usage");
        var status = response.GetProperty("status").GetString();
        var stop = status == "incomplete" ? "max" : calls.Count > 0 ? "tool" : "end";
        return new ClientResult(
            text.ToString(),
            calls,
            stop,
            Long(usage, "input_tokens"),
            usage.TryGetProperty("input_tokens_details", out var details) ? Long(details, "cached_tokens") : 0,
            Long(usage, "output_tokens"),
            ended,
            events);
    }
}
