using System.Text.Json;
using System.Text.Json.Nodes;
using static Serverless.Tests.Formats.OpenAIChat.OpenAIChatTestSupport;
using static Serverless.Tests.Formats.PromptTallyCheck;
using Xunit;

namespace Serverless.Tests.Formats.OpenAIChat;

/// <summary>
/// The prompt read in place (<c>OpenAIChatPromptTally</c>) against the canonical request it stands for: the same count
/// wherever the reader reads the body, and a fallback to the reader exactly where the reader refuses it.
/// </summary>
public sealed class OpenAIChatPromptTallyTests
{
    public static TheoryData<string> ReadableBodies => new()
    {
        """{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hello there"}]}""",
        $$$"""{"model":"m","messages":[{"role":"developer","content":[{"type":"text","text":{{{Quoted(LongText)}}},"cache_control":{"type":"ephemeral"}}]},{"role":"user","content":{{{Quoted(LongText + " again")}}}}]}""",
        """{"model":"m","messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00 \"q\" \n<|endoftext|> done"}]}""",
        """{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"summarize"},{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}},{"type":"file","file":{"file_data":"JVBERi0=","file_id":null}}]}]}""",
        """
        {"model":"m","messages":[{"role":"user","content":[
          {"type":"text","text":"what is this"},
          {"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"high"}},
          {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
          {"type":"image_url","image_url":"https://example.com/b.png"}]}]}
        """,
        """
        {"model":"m","messages":[
          {"role":"user","content":"weather?"},
          {"role":"assistant","content":null,"tool_calls":[
            {"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
            {"id":"c2","function":{"name":"get_time","arguments":{"zone": "CET"}}},
            {"id":"c3","type":"function","function":{"name":"noop","arguments":""}},
            {"id":"c4","type":"function","function":{"name":"noop"}}]},
          {"role":"tool","tool_call_id":"c1","content":"18C"},
          {"role":"system","content":"between two results"},
          {"role":"tool","tool_call_id":"c2","content":[{"type":"text","text":"12:00"},{"type":"image_url","image_url":{"url":"https://example.com/c.png"}}]},
          {"role":"user","content":"and?"},
          {"role":"tool","tool_call_id":"c3","content":"later"},
          {"role":"assistant","content":[{"type":"text","text":"No."},{"type":"refusal","refusal":"I cannot."}],"refusal":"Really not."},
          {"role":"assistant","content":"ok","refusal":null,"name":"bot","extra":[1,2]}]}
        """,
        $$$$"""
        {"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[
          {"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string","description":"A city <b>é</b> & more"}},"required":["city"]}}},
          {"type":"function","function":{"name":"no_schema"}},
          {"type":"function","function":{"name":"null_schema","description":7,"parameters":null}},
          {"type":"function","function":{"name":"long","description":{{{{Quoted(LongText)}}}},"parameters":{"type":"object","properties":{}}},"cache_control":{"type":"ephemeral"}}]}
        """,
        """
        {"model":"m","messages":[
          {"role":"user","content":"patch it"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"custom","custom":{"name":"apply_patch","input":"*** Begin Patch\n+café 😀 \"quoted\" <b>\n*** End Patch"}}]},
          {"role":"tool","tool_call_id":"c1","content":"Done!"}],
         "tools":[
          {"type":"custom","custom":{"name":"apply_patch","description":"Edit files.","format":{"type":"grammar","grammar":{"syntax":"lark","definition":"start: \"x\"+"}}}},
          {"type":"custom","custom":{"name":"notes","description":null,"format":{"type":"text"}}}]}
        """,
    };

    public static TheoryData<string> RefusedBodies => new()
    {
        """{"model":"m","messages":[{"role":"user","content":42}]}""",
        """{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc"}}]}]}""",
        """{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"filename":7,"file_data":"JVBERi0="}}]}]}""",
        """{"model":"m","messages":[{"role":"bot","content":"hi"}]}""",
        """{"model":"m","messages":[{"content":"hi"}]}""",
        """{"model":"m","messages":["hi"]}""",
        """{"model":"m","messages":[{"role":"user","content":"lone \ud800 surrogate"}]}""",
        """{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":42}]}]}""",
        """{"model":"m","messages":[{"role":"user","content":[{"text":"no type"}]}]}""",
        """{"model":"m","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}""",
        """{"model":"m","messages":[{"role":"user","content":[{"type":"refusal","refusal":"only an assistant refuses"}]}]}""",
        """{"model":"m","messages":[{"role":"assistant","content":"a","refusal":3}]}""",
        """{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":3}}]}]}""",
        """{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"retrieval","function":{"name":"f"}}]}]}""",
        """{"model":"m","messages":[{"role":"assistant","tool_calls":{"id":"c"}}]}""",
        """{"model":"m","messages":[{"role":"tool","content":"no call id"}]}""",
        """{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":"{}"}}]}""",
        """{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"function":{"name":"f"}}]}""",
        """{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":{"type":"function"}}""",
        """{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":["get_weather"]}""",
        """{"model":"m","messages":[{"role":"assistant","tool_calls":["get_weather"]}]}""",
        """{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"custom","custom":{"name":"f"}}]}]}""",
        """{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"custom","custom":{"description":"no name"}}]}""",
        """{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"custom","custom":{"name":"f","description":7}}]}""",
    };

    [Theory]
    [MemberData(nameof(ReadableBodies))]
    public void TryTallyPrompt_BodyTheReaderReads_CountsWhatTheCanonicalRequestCounts(string json) => AssertCountedAlike(Format, json);

    [Theory]
    [MemberData(nameof(RefusedBodies))]
    public void TryTallyPrompt_BodyTheReaderRefuses_LeavesItToTheReader(string json) => AssertLeftToTheReader(Format, json);

    [Fact]
    public void TryTallyPrompt_GeneratedConversations_AgreeWithTheReaderOnEveryOne() => AssertAgreeOnGenerated(Format, GeneratedBody, 600);

    private static string GeneratedBody(Random random)
    {
        var messages = new JsonArray();
        for (var n = random.Next(1, 7); n > 0; n--)
        {
            messages.Add(GeneratedMessage(random));
        }

        var body = new JsonObject { ["model"] = "m", ["messages"] = messages };
        if (random.Next(3) == 0)
        {
            var tools = new JsonArray();
            for (var n = random.Next(0, 3); n > 0; n--)
            {
                tools.Add(GeneratedTool(random));
            }

            body["tools"] = tools;
        }

        return Written(body, random);
    }

    private static JsonObject GeneratedMessage(Random random)
    {
        var role = random.Next(40) == 0 ? "bot" : Pick(random, "system", "developer", "user", "user", "assistant", "assistant", "tool", "tool");
        var message = new JsonObject { ["role"] = role };
        switch (role)
        {
            case "assistant":
                if (random.Next(3) > 0)
                {
                    message["content"] = GeneratedContent(random);
                }

                if (random.Next(4) == 0)
                {
                    message["refusal"] = random.Next(8) == 0 ? 5 : Pick(random, Texts);
                }

                if (random.Next(2) == 0)
                {
                    var calls = new JsonArray();
                    for (var n = random.Next(1, 4); n > 0; n--)
                    {
                        calls.Add(GeneratedToolCall(random));
                    }

                    message["tool_calls"] = calls;
                }

                break;
            case "tool":
                if (random.Next(30) > 0)
                {
                    message["tool_call_id"] = "call_" + random.Next(5);
                }

                message["content"] = GeneratedContent(random);
                break;
            default:
                if (random.Next(40) > 0)
                {
                    message["content"] = GeneratedContent(random);
                }

                break;
        }

        return message;
    }

    private static JsonNode? GeneratedContent(Random random) => Content(random, GeneratedPart, minParts: 1);

    private static JsonNode GeneratedPart(Random random) => random.Next(30) switch
    {
        < 20 => new JsonObject { ["type"] = "text", ["text"] = Pick(random, Texts) },
        < 23 => new JsonObject { ["type"] = "refusal", ["refusal"] = Pick(random, Texts) },
        < 25 => new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "https://example.com/i.png" } },
        < 27 => new JsonObject { ["type"] = "image_url", ["image_url"] = "data:image/png;base64,iVBORw0KGgo=" },
        < 29 => new JsonObject { ["type"] = "text", ["text"] = Pick(random, Texts), ["cache_control"] = new JsonObject { ["type"] = "ephemeral" } },
        _ => new JsonObject { ["type"] = Pick(random, "text", "input_audio"), ["text"] = 7 },
    };

    private static JsonObject GeneratedToolCall(Random random)
    {
        var function = new JsonObject { ["name"] = Pick(random, "get_weather", "get_time", "a_tool_with_a_longer_name") };
        switch (random.Next(6))
        {
            case 0:
                break;
            case 1:
                function["arguments"] = "";
                break;
            case 2:
                function["arguments"] = new JsonObject { ["city"] = Pick(random, Texts), ["days"] = 3 };
                break;
            case 3:
                function["arguments"] = random.Next(4) == 0 ? 9 : null;
                break;
            default:
                function["arguments"] = "{\"city\":" + Quoted(Pick(random, Texts)) + "}";
                break;
        }

        var call = new JsonObject { ["id"] = "call_" + random.Next(5), ["function"] = function };
        if (random.Next(2) == 0)
        {
            call["type"] = random.Next(10) == 0 ? "retrieval" : "function";
        }

        return call;
    }

    private static JsonObject GeneratedTool(Random random)
    {
        var function = new JsonObject { ["name"] = Pick(random, "get_weather", "search") };
        if (random.Next(2) == 0)
        {
            function["description"] = random.Next(6) == 0 ? 3 : Pick(random, Texts);
        }

        switch (random.Next(5))
        {
            case 0:
                break;
            case 1:
                function["parameters"] = null;
                break;
            case 2:
                function["parameters"] = random.Next(4) == 0 ? "{}" : new JsonObject();
                break;
            default:
                function["parameters"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject { ["city"] = new JsonObject { ["type"] = "string", ["description"] = Pick(random, Texts) } },
                };
                break;
        }

        return new JsonObject { ["type"] = random.Next(12) == 0 ? "code" : "function", ["function"] = function };
    }

}
