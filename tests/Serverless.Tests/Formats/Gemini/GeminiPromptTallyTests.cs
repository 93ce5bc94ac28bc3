using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Formats.Gemini;
using static Serverless.Tests.Formats.PromptTallyCheck;
using Xunit;

namespace Serverless.Tests.Formats.Gemini;

/// <summary>
/// The prompt read in place (<c>GeminiPromptTally</c>) against the canonical request it stands for: the same count
/// wherever the reader reads the body (camelCase and snake_case, unwrapped results, converted schemas, dropped parts),
/// and a fallback to the reader exactly where it refuses.
/// </summary>
public sealed class GeminiPromptTallyTests
{
    private const string Model = "models/gemini-test";

    public static TheoryData<string> ReadableBodies => new()
    {
        """{"contents":[{"role":"user","parts":[{"text":"hello there"}]}]}""",
        """{"contents":[{"role":"user","parts":[{"text":"summarize"},{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0="}},{"file_data":{"mime_type":"text/plain","file_uri":"https://example.com/notes.txt"}},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]}]}""",
        $$$"""{"systemInstruction":{"parts":[{"text":{{{Quoted(LongText)}}}}]},"contents":[{"parts":[{"text":{{{Quoted(LongText + " again")}}}}]}]}""",
        """{"system_instruction":{"parts":[]},"contents":[{"role":"","parts":[{"text":"caf\u00e9 \ud83d\ude00 <|endoftext|>"},{"executableCode":{"code":"x"}}]}]}""",
        """
        {"contents":[
          {"role":"user","parts":[{"text":"what is this"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}},{"file_data":{"file_uri":"gs://b/f.png","mime_type":"image/png"}},{"inline_data":{"mime_type":"image/png","data":""}}]},
          {"role":"model","parts":[{"text":"Let me check.","thought":true,"thoughtSignature":"sig"},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"sig2"},{"function_call":{"name":"get_time"}}]},
          {"role":"function","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"18C"}}},{"function_response":{"name":"get_time","response":{"error":{"code":1}}}},{"functionResponse":{"name":"other"}},{"functionResponse":{"name":"x","response":{"a":1,"b":2}}}]},
          {"role":"user","parts":[{"functionResponse":{"name":"get_weather","id":"c1","response":{"output":"ok"}}},{"text":"and now?"},{"functionCall":{"name":"dropped_in_a_user_turn","args":{}}}]},
          {"role":"model","parts":[{"videoMetadata":{}}]}]}
        """,
        """
        {"contents":[{"role":"user","parts":[{"functionResponse":{"name":"read_file","response":{"output":"Binary content provided (2 item(s))."},
          "parts":[{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}},{"file_data":{"mime_type":"application/pdf","file_uri":"https://example.com/a.pdf"}},{"text":"dropped"}]}},
          {"function_response":{"name":"shot","parts":[{"inline_data":{"mime_type":"image/jpeg","data":"/9j/"}}]}}]}]}
        """,
        """
        {"contents":[{"parts":[{"text":"hi"}]}],"tools":[
          {"functionDeclarations":[
            {"name":"get_weather","description":"Weather <b>é</b> & more","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING","description":"a city"}},"required":["city"]}},
            {"name":"json_schema","parametersJsonSchema":{"type":"object","properties":{"q":{"type":"string"}}}},
            {"name":"no_schema","description":7}]},
          {"googleSearch":{}},
          {"function_declarations":[{"name":"snake","parameters_json_schema":{"type":"object"}}]}]}
        """,
    };

    public static TheoryData<string> RefusedBodies => new()
    {
        """{"contents":["hi"]}""",
        """{"contents":[{"role":"user","parts":[{"fileData":{"mimeType":"application/pdf","fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc-123"}}]}]}""",
        """{"cachedContent":"cachedContents/abc-123","contents":[{"role":"user","parts":[{"text":"hi"}]}]}""",
        """{"contents":[{"role":"system","parts":[{"text":"hi"}]}]}""",
        """{"contents":[{"role":5,"parts":[{"text":"hi"}]}]}""",
        """{"contents":[{"role":"user"}]}""",
        """{"contents":[{"role":"user","parts":[]}]}""",
        """{"contents":[{"role":"user","parts":{"text":"hi"}}]}""",
        """{"contents":[{"role":"user","parts":["hi"]}]}""",
        """{"contents":[{"role":"user","parts":[{"text":null}]}]}""",
        """{"contents":[{"role":"user","parts":[{"text":"lone \ud800 surrogate"}]}]}""",
        """{"contents":[{"role":"user","parts":[{"inlineData":{"data":"AA=="}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"image/png"}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"fileData":{"mimeType":"image/png"}}]}]}""",
        """{"contents":[{"role":"model","parts":[{"functionCall":{"args":{}}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionCall":{"name":"f","args":"{}"}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":""}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":"18C"}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","parts":{"inlineData":{"mimeType":"image/png","data":"AA=="}}}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","parts":["image"]}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","parts":[{"inlineData":{"data":"AA=="}}]}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","parts":[{"fileData":{"mimeType":"image/png","fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc-123"}}]}}]}]}""",
        """{"systemInstruction":"be brief","contents":[{"parts":[{"text":"hi"}]}]}""",
        """{"systemInstruction":{"parts":[{"inlineData":{}}]},"contents":[{"parts":[{"text":"hi"}]}]}""",
        """{"contents":[{"parts":[{"text":"hi"}]}],"tools":{"functionDeclarations":[]}}""",
        """{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":[{"description":"no name"}]}]}""",
        """{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":{"name":"f"}}]}""",
        """{"contents":[{"parts":[{"text":"hi"}]}],"tools":["googleSearch"]}""",
        """{"contents":[{"parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":["f"]}]}""",
    };

    [Theory]
    [MemberData(nameof(ReadableBodies))]
    public void TryTallyPrompt_BodyTheReaderReads_CountsWhatTheCanonicalRequestCounts(string json) => AssertCountedAlike(GeminiFormat.Instance, json, Model);

    [Theory]
    [MemberData(nameof(RefusedBodies))]
    public void TryTallyPrompt_BodyTheReaderRefuses_LeavesItToTheReader(string json) => AssertLeftToTheReader(GeminiFormat.Instance, json, Model);

    [Fact]
    public void TryTallyPrompt_GeneratedConversations_AgreeWithTheReaderOnEveryOne() => AssertAgreeOnGenerated(GeminiFormat.Instance, GeneratedBody, 600, Model);

    private static string Name(Random random, string camel, string snake) => random.Next(3) == 0 ? snake : camel;

    private static string GeneratedBody(Random random)
    {
        var contents = new JsonArray();
        for (var n = random.Next(1, 6); n > 0; n--)
        {
            var content = new JsonObject();
            if (random.Next(4) > 0)
            {
                content["role"] = random.Next(40) == 0 ? "system" : Pick(random, "user", "model", "model", "function", "");
            }

            if (random.Next(40) > 0)
            {
                var parts = new JsonArray();
                for (var p = random.Next(random.Next(40) == 0 ? 0 : 1, 4); p > 0; p--)
                {
                    parts.Add(GeneratedPart(random));
                }

                content["parts"] = parts;
            }

            contents.Add(content);
        }

        var body = new JsonObject { ["contents"] = contents };
        if (random.Next(3) == 0)
        {
            body[Name(random, "systemInstruction", "system_instruction")] = new JsonObject
            {
                ["parts"] = new JsonArray(Enumerable.Range(0, random.Next(0, 3)).Select(_ => (JsonNode)(random.Next(25) == 0 ? new JsonObject() : new JsonObject { ["text"] = Pick(random, Texts) })).ToArray()),
            };
        }

        if (random.Next(3) == 0)
        {
            body["tools"] = new JsonArray(Enumerable.Range(0, random.Next(0, 3)).Select(_ => (JsonNode)GeneratedTool(random)).ToArray());
        }

        return Written(body, random);
    }

    private static JsonObject GeneratedPart(Random random)
    {
        switch (random.Next(40))
        {
            case < 16:
                var text = new JsonObject { ["text"] = Pick(random, Texts) };
                if (random.Next(4) == 0)
                {
                    text["thought"] = true;
                    text["thoughtSignature"] = "sig";
                }

                return text;
            case < 22:
                var call = new JsonObject { ["name"] = random.Next(30) == 0 ? "" : Pick(random, "get_weather", "search") };
                if (random.Next(3) > 0)
                {
                    call["args"] = random.Next(30) == 0 ? "{}" : new JsonObject { ["q"] = Pick(random, Texts) };
                }

                var callPart = new JsonObject { [Name(random, "functionCall", "function_call")] = call };
                if (random.Next(3) == 0)
                {
                    callPart["thoughtSignature"] = "sig";
                }

                return callPart;
            case < 29:
                var response = new JsonObject { ["name"] = Pick(random, "get_weather", "search") };
                switch (random.Next(6))
                {
                    case 0:
                        break;
                    case 1:
                        response["response"] = new JsonObject { ["result"] = Pick(random, Texts) };
                        break;
                    case 2:
                        response["response"] = new JsonObject { ["error"] = random.Next(2) == 0 ? Pick(random, Texts) : new JsonObject { ["code"] = 3 } };
                        break;
                    case 3:
                        response["response"] = new JsonObject { ["a"] = Pick(random, Texts), ["b"] = 2 };
                        break;
                    case 4:
                        response["response"] = new JsonObject { ["output"] = random.Next(2) == 0 ? Pick(random, Texts) : 5 };
                        break;
                    default:
                        response["response"] = random.Next(10) == 0 ? "text" : new JsonObject();
                        break;
                }

                if (random.Next(4) == 0)
                {
                    // A tool's images and documents (multimodal function responses).
                    response["parts"] = random.Next(30) == 0 ? new JsonObject() : new JsonArray(Enumerable.Range(0, random.Next(0, 3)).Select(_ => (JsonNode)GeneratedMedia(random)).ToArray());
                }

                return new JsonObject { [Name(random, "functionResponse", "function_response")] = response };
            case < 36:
                return GeneratedMedia(random);
            default:
                return new JsonObject { [Pick(random, "executableCode", "codeExecutionResult", "videoMetadata")] = new JsonObject() };
        }
    }

    private static JsonObject GeneratedMedia(Random random) => random.Next(7) < 4
        ? new JsonObject { [Name(random, "inlineData", "inline_data")] = new JsonObject { [Name(random, "mimeType", "mime_type")] = "image/png", ["data"] = random.Next(30) == 0 ? null : "iVBORw0KGgo=" } }
        : new JsonObject { [Name(random, "fileData", "file_data")] = new JsonObject { [Name(random, "fileUri", "file_uri")] = random.Next(30) == 0 ? null : "gs://b/f.png" } };

    private static JsonObject GeneratedTool(Random random)
    {
        if (random.Next(5) == 0)
        {
            return new JsonObject { ["googleSearch"] = new JsonObject() };
        }

        var declarations = new JsonArray();
        for (var n = random.Next(0, 3); n > 0; n--)
        {
            var declaration = new JsonObject { ["name"] = random.Next(30) == 0 ? null : Pick(random, "get_weather", "search") };
            if (random.Next(2) == 0)
            {
                declaration["description"] = random.Next(8) == 0 ? 3 : Pick(random, Texts);
            }

            switch (random.Next(4))
            {
                case 0:
                    break;
                case 1:
                    declaration[Name(random, "parametersJsonSchema", "parameters_json_schema")] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["q"] = new JsonObject { ["type"] = "string", ["description"] = Pick(random, Texts) } } };
                    break;
                default:
                    declaration["parameters"] = new JsonObject { ["type"] = "OBJECT", ["properties"] = new JsonObject { ["q"] = new JsonObject { ["type"] = "STRING", ["description"] = Pick(random, Texts) } }, ["required"] = new JsonArray("q") };
                    break;
            }

            declarations.Add(declaration);
        }

        return new JsonObject { [Name(random, "functionDeclarations", "function_declarations")] = declarations };
    }
}
