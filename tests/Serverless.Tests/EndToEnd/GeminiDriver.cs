using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Tests.EndToEnd;

internal sealed class GeminiDriver : ClientDriver
{
    public override string Name => "gemini";

    public override HttpRequestMessage Build(Scenario scenario, string model, bool stream, string key, int? maxTokens = null)
    {
        var contents = new JsonArray();
        var body = new JsonObject
        {
            ["contents"] = contents,
            ["systemInstruction"] = new JsonObject { ["parts"] = new JsonArray { new JsonObject { ["text"] = SystemText } } },
            ["generationConfig"] = new JsonObject { ["temperature"] = 0.5, ["maxOutputTokens"] = maxTokens ?? 100 },
        };
        static JsonObject User(params JsonNode[] parts) => new() { ["role"] = "user", ["parts"] = new JsonArray(parts) };
        switch (scenario)
        {
            case Scenario.Text:
                contents.Add(User(new JsonObject { ["text"] = "hello there" }));
                break;
            case Scenario.Images:
                contents.Add(User(
                    new JsonObject { ["text"] = "what is this" },
                    new JsonObject { ["inlineData"] = new JsonObject { ["mimeType"] = "image/png", ["data"] = ImageBase64 } },
                    new JsonObject { ["fileData"] = new JsonObject { ["mimeType"] = "image/jpeg", ["fileUri"] = ImageUrl } }));
                break;
            case Scenario.ToolCall:
            case Scenario.ToolResult:
                body["tools"] = new JsonArray { new JsonObject { ["functionDeclarations"] = new JsonArray { new JsonObject { ["name"] = "get_weather", ["description"] = "Weather for a city", ["parameters"] = WeatherSchema() } } } };
                contents.Add(User(new JsonObject { ["text"] = "what is the weather in Paris?" }));
                if (scenario == Scenario.ToolResult)
                {
                    contents.Add(new JsonObject { ["role"] = "model", ["parts"] = new JsonArray { new JsonObject { ["functionCall"] = new JsonObject { ["name"] = "get_weather", ["args"] = new JsonObject { ["city"] = "Paris" } } } } });
                    contents.Add(User(new JsonObject { ["functionResponse"] = new JsonObject { ["name"] = "get_weather", ["response"] = new JsonObject { ["result"] = ToolResultText } } }));
                }

                break;
        }

        var path = stream ? $"v1beta/models/{model}:streamGenerateContent?alt=sse" : $"v1beta/models/{model}:generateContent";
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(body) };
        request.Headers.Add("x-goog-api-key", key);
        return request;
    }

    public override ClientResult Read(string body, bool stream)
    {
        var text = new StringBuilder();
        var calls = new List<(string Name, string Args)>();
        string stop = "";
        JsonElement usage = default;
        var chunks = stream ? Sse(body).Select(e => e.Data).ToList() : [body];
        foreach (var data in chunks)
        {
            var root = JsonDocument.Parse(data).RootElement;
            if (root.TryGetProperty("usageMetadata", out var u))
            {
                usage = u.Clone();
            }

            if (!root.TryGetProperty("candidates", out var candidates))
            {
                continue;
            }

            var candidate = candidates[0];
            if (candidate.TryGetProperty("content", out var content) && content.TryGetProperty("parts", out var parts))
            {
                foreach (var part in parts.EnumerateArray())
                {
                    if (part.TryGetProperty("text", out var t) && !(part.TryGetProperty("thought", out var thought) && thought.GetBoolean()))
                    {
                        text.Append(t.GetString());
                    }

                    if (part.TryGetProperty("functionCall", out var call))
                    {
                        calls.Add((call.GetProperty("name").GetString()!, call.GetProperty("args").GetRawText()));
                    }
                }
            }

            if (candidate.TryGetProperty("finishReason", out var finish))
            {
                stop = finish.GetString()!;
            }
        }

        return new ClientResult(
            text.ToString(),
            calls,
            stop == "MAX_TOKENS" ? "max" : stop == "STOP" ? (calls.Count > 0 ? "tool" : "end") : stop,
            Long(usage, "promptTokenCount"),
            Long(usage, "cachedContentTokenCount"),
            Long(usage, "candidatesTokenCount") + Long(usage, "thoughtsTokenCount"),
            stop.Length > 0,
            chunks.Count);
    }
}
