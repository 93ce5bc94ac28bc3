using System.Text.Json;
using Serverless.Relay;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;

namespace Serverless.Tests.Formats.Json;

/// <summary>
/// Structured output through every translation: each client format's way of asking for JSON (with a schema or not) is
/// read into the canonical request and written in each upstream format's own field.
/// </summary>
public sealed class OutputFormatTranslationTests
{
    private const string Schema = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}""";

    private static readonly OpenAIChatFormat Chat = OpenAIChatFormat.Default;

    // Client bodies asking for JSON following Schema.
    private static readonly Dictionary<string, (IChatFormat Format, string Body)> SchemaRequests = new()
    {
        ["openai-chat"] = (Chat, """{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"place","description":"A place","strict":true,"schema":""" + Schema + "}}}"),
        ["responses"] = (OpenAIResponsesFormat.Instance, """{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"place","description":"A place","strict":true,"schema":""" + Schema + "}}}"),
        ["gemini"] = (GeminiFormat.Instance, """{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"responseMimeType":"application/json","responseJsonSchema":""" + Schema + "}}"),
    };

    // Client bodies asking for any JSON object.
    private static readonly Dictionary<string, (IChatFormat Format, string Body)> JsonRequests = new()
    {
        ["openai-chat"] = (Chat, """{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}"""),
        ["responses"] = (OpenAIResponsesFormat.Instance, """{"model":"m","input":"hi","text":{"format":{"type":"json_object"}}}"""),
        ["gemini"] = (GeminiFormat.Instance, """{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"responseMimeType":"application/json"}}"""),
    };

    private static readonly Dictionary<string, IChatFormat> Upstreams = new()
    {
        ["openai-chat"] = Chat,
        ["responses"] = OpenAIResponsesFormat.Instance,
        ["gemini"] = GeminiFormat.Instance,
        ["anthropic"] = AnthropicFormat.Instance,
    };

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (var client in new[] { "openai-chat", "responses", "gemini" })
        {
            foreach (var upstream in new[] { "openai-chat", "responses", "gemini", "anthropic" })
            {
                data.Add(client, upstream);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Translate_JsonSchema_UpstreamGetsTheSchemaInItsOwnField(string client, string upstream)
    {
        var written = Translate(SchemaRequests[client], upstream);

        // Gemini carries no name, description or strict flag; a schema read from it gets the default name.
        var fromGemini = client == "gemini";
        var name = fromGemini ? "response" : "place";
        var extra = fromGemini ? "" : "\"description\":\"A place\",";
        var strict = fromGemini ? "" : ",\"strict\":true";
        var expected = upstream switch
        {
            "openai-chat" => "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"" + name + "\"," + extra + "\"schema\":" + Schema + strict + "}}",
            "responses" => "{\"format\":{\"type\":\"json_schema\",\"name\":\"" + name + "\"," + extra + "\"schema\":" + Schema + strict + "}}",
            "gemini" => """{"responseMimeType":"application/json","responseJsonSchema":""" + Schema + "}",
            _ => """{"format":{"type":"json_schema","schema":""" + Schema + "}}",
        };
        Assert.Equal(expected, FieldOf(written, upstream));
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Translate_JsonObject_UpstreamGetsJsonMode(string client, string upstream)
    {
        var written = Translate(JsonRequests[client], upstream);

        var expected = upstream switch
        {
            "openai-chat" => """{"type":"json_object"}""",
            "responses" => """{"format":{"type":"json_object"}}""",
            "gemini" => """{"responseMimeType":"application/json"}""",

            // Anthropic has no schema-less JSON mode; the request goes as before.
            _ => null,
        };
        Assert.Equal(expected, FieldOf(written, upstream));
    }

    [Fact]
    public void ReadRequest_GeminiResponseSchema_ConvertedToJsonSchema()
    {
        var request = Read(GeminiFormat.Instance, """
            {"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"responseMimeType":"application/json",
             "responseSchema":{"type":"OBJECT","properties":{"city":{"type":"STRING","nullable":true}},"required":["city"]}}}
            """);

        var format = Assert.IsType<OutputFormat>(request.OutputFormat);
        Assert.Equal(OutputFormatKind.JsonSchema, format.Kind);
        Assert.Equal("response", format.Name);
        Assert.Equal("""{"type":"object","properties":{"city":{"type":["string","null"]}},"required":["city"]}""", format.Schema!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}""", "response_format.type: must be one of text, json_object, json_schema", "response_format")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}""", "response_format.json_schema: field required", "response_format")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}""", "response_format.json_schema.name: field required", "response_format")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":[]}}}""", "response_format.json_schema.schema: must be an object", "response_format")]
    public void ReadRequest_ChatBadResponseFormat_InvalidNamingTheField(string body, string message, string param)
    {
        var result = Chat.ReadRequest(Parse(body), null, false);

        Assert.False(result.IsSuccess);
        Assert.Equal(message, result.Error!.Message);
        Assert.Equal(param, result.Error.Param);
    }

    [Fact]
    public void ReadRequest_ResponsesTextFormatWithoutName_InvalidNamingTheField()
    {
        var result = OpenAIResponsesFormat.Instance.ReadRequest(Parse("""{"model":"m","input":"hi","text":{"format":{"type":"json_schema","schema":{}}}}"""), null, false);

        Assert.Equal("text.format.name: field required", result.Error!.Message);
        Assert.Equal("text.format", result.Error.Param);
    }

    [Fact]
    public void ReadRequest_TextFormat_WritesNoFormatUpstream()
    {
        var request = Read(Chat, """{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"text"}}""");

        Assert.Null(FieldOf(Write(request, "openai-chat"), "openai-chat"));
        Assert.Null(FieldOf(Write(request, "gemini"), "gemini"));
    }

    private static JsonElement Translate((IChatFormat Format, string Body) client, string upstream) =>
        Write(Read(client.Format, client.Body), upstream);

    private static ChatRequest Read(IChatFormat format, string body) => Translation.Read(format, body);

    private static JsonElement Write(ChatRequest request, string upstream) => Translation.Write(request, Upstreams[upstream]);

    /// <summary>The upstream body's structured-output field, as compact JSON; null when absent.</summary>
    private static string? FieldOf(JsonElement body, string upstream)
    {
        switch (upstream)
        {
            case "openai-chat":
                return body.TryGetProperty("response_format", out var format) ? format.GetRawText() : null;
            case "responses":
                return body.TryGetProperty("text", out var text) ? text.GetRawText() : null;
            case "gemini":
                if (!body.TryGetProperty("generationConfig", out var config))
                {
                    return null;
                }

                // Only the structured-output keys, so other settings do not matter here.
                var kept = config.EnumerateObject().Where(p => p.Name.StartsWith("response", StringComparison.Ordinal)).ToList();
                return kept.Count == 0 ? null : "{" + string.Join(",", kept.Select(p => $"\"{p.Name}\":{p.Value.GetRawText()}")) + "}";
            default:
                return body.TryGetProperty("output_config", out var config2) ? config2.GetRawText() : null;
        }
    }

    private static JsonElement Parse(string json) => Translation.Parse(json);
}
