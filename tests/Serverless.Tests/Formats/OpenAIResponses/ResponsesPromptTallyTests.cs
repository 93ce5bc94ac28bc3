using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Formats.OpenAIResponses;
using static Serverless.Tests.Formats.PromptTallyCheck;
using Xunit;

namespace Serverless.Tests.Formats.OpenAIResponses;

/// <summary>
/// The prompt read in place (<c>ResponsesPromptTally</c>) against the canonical request it stands for: the same count
/// wherever the reader reads the body (joined calls and results, dropped items included), and a fallback to the reader
/// exactly where it refuses.
/// </summary>
public sealed class ResponsesPromptTallyTests
{
    public static TheoryData<string> ReadableBodies => new()
    {
        """{"model":"m","input":"hello there"}""",
        """{"model":"m","previous_response_id":"resp_1","instructions":"be brief","tools":[{"type":"function","name":"f","parameters":{"type":"object"}}]}""",
        """{"model":"m","input":[{"role":"system","content":[{"type":"input_text","text":"be brief"},{"type":"input_file","file_url":"https://example.com/s.pdf"}]},{"role":"user","content":[{"type":"input_file","filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="},{"type":"input_file","file_url":"https://example.com/b.pdf","file_id":"file-also"}]}]}""",
        $$$"""{"model":"m","instructions":{{{Quoted(LongText)}}},"input":[{"role":"user","content":{{{Quoted(LongText + " again")}}}}]}""",
        """{"model":"m","instructions":null,"input":[{"type":"message","role":"developer","content":[{"type":"input_text","text":"caf\u00e9 \ud83d\ude00"},{"type":"input_image","image_url":"https://example.com/a.png"},{"type":"refusal","refusal":"kept as text"}]},{"role":"user","content":"<|endoftext|> hi"}]}""",
        """
        {"model":"m","input":[
          {"role":"user","content":[{"type":"input_text","text":"weather?"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}]},
          {"type":"reasoning","id":"rs_1","summary":[]},
          {"role":"assistant","content":[{"type":"output_text","text":"Checking."}]},
          {"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
          {"type":"function_call","call_id":"c2","name":"get_time","arguments":"{}"},
          {"type":"function_call_output","call_id":"c1","output":"18C"},
          {"role":"system","content":"between two results"},
          {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"12:00"},{"type":"input_image","image_url":"https://example.com/b.png"}]},
          {"type":"web_search_call","id":"ws_1","status":"completed"},
          {"type":"function_call","call_id":"c3","name":"later","arguments":""},
          {"role":"assistant","content":"done","id":"msg_1","status":"completed"}]}
        """,
        """
        {"model":"m","input":"hi","tools":[
          {"type":"function","name":"get_weather","description":"Weather <b>é</b> & more","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true},
          {"type":"function","name":"no_schema","description":null},
          {"type":"function","name":"null_schema","parameters":null},
          {"type":"web_search"},
          {"type":"mcp","server_label":"x"}]}
        """,
        """
        {"model":"m","input":[
          {"role":"user","content":"patch it"},
          {"type":"custom_tool_call","call_id":"c1","name":"apply_patch","input":"*** Begin Patch\n+café 😀 \"quoted\" <b>\n*** End Patch"},
          {"type":"function_call","call_id":"c2","name":"get_customer","arguments":"{}","namespace":"crm"},
          {"type":"custom_tool_call_output","call_id":"c1","output":"Done!"},
          {"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"{}"}]}],
         "tools":[
          {"type":"custom","name":"apply_patch","description":"Edit files.","format":{"type":"grammar","syntax":"lark","definition":"start: \"x\"+"}},
          {"type":"custom","name":"notes","description":null},
          {"type":"namespace","name":"crm","description":"CRM","tools":[
            {"type":"function","name":"get_customer","parameters":{"type":"object"}},
            {"type":"custom","name":"query","format":{"type":"text"}},
            {"type":"namespace","name":"nested","tools":[]}]}]}
        """,
        """
        {"model":"m","input":[
          {"role":"user","content":"weather?"},
          {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"Need weather."}],"encrypted_content":"relay:anthropic:sig"},
          {"role":"assistant","content":[{"type":"output_text","text":"Checking."}]},
          {"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{}"},
          {"type":"function_call_output","call_id":"c1","output":"18C"},
          {"type":"reasoning","summary":[],"encrypted_content":"relay:gemini:c2ln"},
          {"role":"assistant","content":[]},
          {"role":"assistant","content":"two"},
          {"role":"assistant","content":"three"},
          {"type":"reasoning","summary":[{"type":"summary_text","text":"a"},{"type":"summary_text","text":"b"}],"encrypted_content":"relay:anthropic:s2"},
          {"type":"reasoning","summary":[{"type":"summary_text","text":"not ours"}],"encrypted_content":"gAAAAB-openai"},
          {"role":"user","content":"thanks"}]}
        """,
    };

    public static TheoryData<string> RefusedBodies => new()
    {
        """{"model":"m","instructions":5,"input":"hi"}""",
        """{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-abc"}]}]}""",
        """{"model":"m","input":["hi"]}""",
        """{"model":"m","input":[{"type":7,"role":"user","content":"hi"}]}""",
        """{"model":"m","input":[{"role":"bot","content":"hi"}]}""",
        """{"model":"m","input":[{"content":"hi"}]}""",
        """{"model":"m","input":[{"role":"user"}]}""",
        """{"model":"m","input":[{"role":"user","content":42}]}""",
        """{"model":"m","input":[{"role":"user","content":"lone \ud800 surrogate"}]}""",
        """{"model":"m","input":[{"role":"user","content":[{"type":"text","text":"chat completions' part type"}]}]}""",
        """{"model":"m","input":[{"role":"user","content":[{"type":"input_text"}]}]}""",
        """{"model":"m","input":[{"role":"system","content":[{"type":"input_image","image_url":""}]}]}""",
        """{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"https://example.com/a.png","detail":1}]}]}""",
        """{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file_1"}]}]}""",
        """{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f"}]}""",
        """{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}""",
        """{"model":"m","input":[{"type":"function_call_output","call_id":"c"}]}""",
        """{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":{"a":1}}]}""",
        """{"model":"m","input":"hi","tools":[{"name":"untyped"}]}""",
        """{"model":"m","input":"hi","tools":[{"type":"function"}]}""",
        """{"model":"m","input":"hi","tools":[{"type":"function","name":"f","description":3}]}""",
        """{"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":"{}"}]}""",
        """{"model":"m","input":"hi","tools":{"type":"function"}}""",
        """{"model":"m","input":"hi","tools":["get_weather"]}""",
        """{"model":"m","input":[{"type":"custom_tool_call","call_id":"c","name":"f"}]}""",
        """{"model":"m","input":[{"type":"custom_tool_call","call_id":"c","name":"f","input":3}]}""",
        """{"model":"m","input":[{"type":"custom_tool_call_output","call_id":"c"}]}""",
        """{"model":"m","input":"hi","tools":[{"type":"custom"}]}""",
        """{"model":"m","input":"hi","tools":[{"type":"custom","name":"f","description":3}]}""",
        """{"model":"m","input":"hi","tools":[{"type":"namespace","tools":[]}]}""",
        """{"model":"m","input":"hi","tools":[{"type":"namespace","name":"n","tools":{}}]}""",
        """{"model":"m","input":"hi","tools":[{"type":"namespace","name":"n","tools":[{"type":"function"}]}]}""",
    };

    [Theory]
    [MemberData(nameof(ReadableBodies))]
    public void TryTallyPrompt_BodyTheReaderReads_CountsWhatTheCanonicalRequestCounts(string json) => AssertCountedAlike(OpenAIResponsesFormat.Instance, json);

    [Theory]
    [MemberData(nameof(RefusedBodies))]
    public void TryTallyPrompt_BodyTheReaderRefuses_LeavesItToTheReader(string json) => AssertLeftToTheReader(OpenAIResponsesFormat.Instance, json);

    [Fact]
    public void TryTallyPrompt_GeneratedConversations_AgreeWithTheReaderOnEveryOne() => AssertAgreeOnGenerated(OpenAIResponsesFormat.Instance, GeneratedBody, 600);

    private static string GeneratedBody(Random random)
    {
        var body = new JsonObject { ["model"] = "m" };
        if (random.Next(6) == 0)
        {
            body["input"] = Pick(random, Texts);
        }
        else
        {
            var items = new JsonArray();
            for (var n = random.Next(1, 8); n > 0; n--)
            {
                items.Add(GeneratedItem(random));
            }

            body["input"] = items;
        }

        if (random.Next(3) == 0)
        {
            body["instructions"] = random.Next(30) == 0 ? 5 : Pick(random, Texts);
        }

        if (random.Next(3) == 0)
        {
            body["tools"] = new JsonArray(Enumerable.Range(0, random.Next(0, 3)).Select(_ => (JsonNode)GeneratedTool(random)).ToArray());
        }

        return Written(body, random);
    }

    private static JsonObject GeneratedItem(Random random)
    {
        switch (random.Next(20))
        {
            case < 4:
                return new JsonObject { ["type"] = "function_call", ["call_id"] = "c" + random.Next(3), ["name"] = Pick(random, "get_weather", "search"), ["arguments"] = random.Next(30) == 0 ? null : "{\"q\":" + Quoted(Pick(random, Texts)) + "}" };
            case < 8:
                return new JsonObject { ["type"] = "function_call_output", ["call_id"] = "c" + random.Next(3), ["output"] = random.Next(30) == 0 ? 3 : GeneratedContent(random) };
            case 8:
                return new JsonObject { ["type"] = Pick(random, "reasoning", "web_search_call", "item_reference"), ["id"] = "x" };
        }

        var role = random.Next(40) == 0 ? "bot" : Pick(random, "system", "developer", "user", "user", "assistant", "assistant");
        var message = new JsonObject { ["role"] = role, ["content"] = GeneratedContent(random) };
        if (random.Next(2) == 0)
        {
            message["type"] = "message";
        }

        return message;
    }

    private static JsonNode? GeneratedContent(Random random) => Content(random, GeneratedPart);

    private static JsonNode GeneratedPart(Random random) => random.Next(40) switch
    {
        < 20 => new JsonObject { ["type"] = Pick(random, "input_text", "output_text"), ["text"] = Pick(random, Texts) },
        < 24 => new JsonObject { ["type"] = "refusal", ["refusal"] = Pick(random, Texts) },
        < 30 => new JsonObject { ["type"] = "input_image", ["image_url"] = Pick(random, "https://example.com/i.png", "data:image/png;base64,iVBORw0KGgo=") },
        < 34 => new JsonObject { ["type"] = "input_image", ["image_url"] = "https://example.com/i.png", ["detail"] = Pick(random, "low", "high") },
        < 38 => new JsonObject { ["type"] = "input_text", ["text"] = Pick(random, Texts), ["annotations"] = new JsonArray() },
        38 => new JsonObject { ["type"] = "input_image", ["image_url"] = "" },
        _ => new JsonObject { ["type"] = Pick(random, "text", "input_file"), ["text"] = "x" },
    };

    private static JsonObject GeneratedTool(Random random)
    {
        var type = random.Next(5) == 0 ? "web_search" : "function";
        var tool = new JsonObject { ["type"] = type };
        if (type == "web_search")
        {
            return tool;
        }

        tool["name"] = random.Next(30) == 0 ? null : Pick(random, "get_weather", "search");
        if (random.Next(2) == 0)
        {
            tool["description"] = random.Next(15) == 0 ? 3 : Pick(random, Texts);
        }

        switch (random.Next(5))
        {
            case 0:
                break;
            case 1:
                tool["parameters"] = null;
                break;
            default:
                tool["parameters"] = new JsonObject
                {
                    ["type"] = "object",
                    ["properties"] = new JsonObject { ["city"] = new JsonObject { ["type"] = "string", ["description"] = Pick(random, Texts) } },
                };
                break;
        }

        return tool;
    }
}
