using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Formats.Anthropic;
using static Serverless.Tests.Formats.PromptTallyCheck;
using Xunit;

namespace Serverless.Tests.Formats.Anthropic;

/// <summary>
/// The prompt read in place (<c>AnthropicPromptTally</c>) against the canonical request it stands for: the same count
/// wherever the reader reads the body (dropped blocks included), and a fallback to the reader exactly where it refuses.
/// </summary>
public sealed class AnthropicPromptTallyTests
{
    public static TheoryData<string> ReadableBodies => new()
    {
        """{"model":"m","max_tokens":10,"system":"Be brief.","messages":[{"role":"user","content":"hello there"}]}""",
        $$$"""{"model":"m","max_tokens":10,"system":[{"type":"text","text":{{{Quoted(LongText)}}},"cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":{{{Quoted(LongText + " again")}}}}]}""",
        """{"model":"m","max_tokens":10,"system":"","messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00 \"q\" \n<|endoftext|> done"},{"role":"assistant","content":[]}]}""",
        """
        {"model":"m","max_tokens":10,"messages":[
          {"role":"user","content":[
            {"type":"text","text":"what is this"},
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
            {"type":"image","source":{"type":"url","url":"https://example.com/a.png"}},
            {"type":"image","source":{"type":"later_kind"}},
            {"type":"document","source":{"type":"text","data":"kept"},"title":"notes"},
            {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]},
          {"role":"assistant","content":[
            {"type":"thinking","thinking":"Let me look.","signature":"sig"},
            {"type":"redacted_thinking","data":"xyz"},
            {"type":"text","text":"Checking."},
            {"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Paris","days":[1,2]}}]},
          {"role":"user","content":[
            {"type":"tool_result","tool_use_id":"t1","content":"18C"},
            {"type":"tool_result","tool_use_id":"t2"},
            {"type":"tool_result","tool_use_id":"t3","content":null,"is_error":true},
            {"type":"tool_result","tool_use_id":"t4","content":[{"type":"text","text":"12:00"},{"type":"image","source":{"type":"url","url":"https://example.com/b.png"}},{"type":"search_result","title":"dropped"}]},
            {"type":"text","text":"and now?"}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"t5","content":[{"type":"document","source":{"type":"url","url":"https://example.com/r.pdf"}}]},{"type":"image","source":{"type":"later_kind"}}]}]}
        """,
        $$$$"""
        {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[
          {"name":"get_weather","description":"Weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string","description":"A city <b>é</b> & more"}},"required":["city"]}},
          {"type":"custom","name":"described_by_number","description":7,"input_schema":{"type":"object"}},
          {"type":5,"name":"typed_by_number","input_schema":{"type":"object"}},
          {"type":"web_search_20250305","name":"web_search","max_uses":3},
          {"name":"long","description":{{{{Quoted(LongText)}}}},"input_schema":{"type":"object","properties":{}},"cache_control":{"type":"ephemeral"}}]}
        """,
    };

    public static TheoryData<string> RefusedBodies => new()
    {
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":42}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"file","file_id":"file_011"}}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_011"}}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text"}}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"system","content":"hi"}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user"}]}""",
        """{"model":"m","max_tokens":10,"messages":["hi"]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"lone \ud800 surrogate"}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"text":"no type"}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":7}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","data":"AA=="}}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"url":"https://example.com/a.png"}}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":"https://example.com/a.png"}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"t"}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":"{}"}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"text":"untyped"}]}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":5}]}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"thinking"}]}]}""",
        """{"model":"m","max_tokens":10,"system":[{"type":"image"}],"messages":[{"role":"user","content":"hi"}]}""",
        """{"model":"m","max_tokens":10,"system":5,"messages":[{"role":"user","content":"hi"}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"","input_schema":{}}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f"}]}""",
        """{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":["f"]}""",
    };

    [Theory]
    [MemberData(nameof(ReadableBodies))]
    public void TryTallyPrompt_BodyTheReaderReads_CountsWhatTheCanonicalRequestCounts(string json) => AssertCountedAlike(AnthropicFormat.Instance, json);

    [Theory]
    [MemberData(nameof(RefusedBodies))]
    public void TryTallyPrompt_BodyTheReaderRefuses_LeavesItToTheReader(string json) => AssertLeftToTheReader(AnthropicFormat.Instance, json);

    [Fact]
    public void TryTallyPrompt_GeneratedConversations_AgreeWithTheReaderOnEveryOne() => AssertAgreeOnGenerated(AnthropicFormat.Instance, GeneratedBody, 600);

    private static string GeneratedBody(Random random)
    {
        var messages = new JsonArray();
        for (var n = random.Next(1, 6); n > 0; n--)
        {
            var role = random.Next(40) == 0 ? "system" : Pick(random, "user", "assistant");
            var message = new JsonObject { ["role"] = role };
            if (random.Next(40) > 0)
            {
                message["content"] = GeneratedContent(random, role == "user");
            }

            messages.Add(message);
        }

        var body = new JsonObject { ["model"] = "m", ["max_tokens"] = 100, ["messages"] = messages };
        switch (random.Next(5))
        {
            case 0:
                body["system"] = Pick(random, Texts);
                break;
            case 1:
                body["system"] = new JsonArray(Enumerable.Range(0, random.Next(1, 3))
                    .Select(_ => (JsonNode)new JsonObject { ["type"] = random.Next(20) == 0 ? "image" : "text", ["text"] = Pick(random, Texts) }).ToArray());
                break;
        }

        if (random.Next(3) == 0)
        {
            body["tools"] = new JsonArray(Enumerable.Range(0, random.Next(0, 3)).Select(_ => (JsonNode)GeneratedTool(random)).ToArray());
        }

        return Written(body, random);
    }

    private static JsonNode? GeneratedContent(Random random, bool userTurn) => Content(random, r => GeneratedBlock(r, userTurn));

    private static JsonObject GeneratedBlock(Random random, bool userTurn) => random.Next(40) switch
    {
        < 14 => new JsonObject { ["type"] = "text", ["text"] = Pick(random, Texts) },
        < 17 => new JsonObject { ["type"] = "image", ["source"] = GeneratedSource(random) },
        < 19 => new JsonObject { ["type"] = "thinking", ["thinking"] = Pick(random, Texts), ["signature"] = "s" },
        < 20 when random.Next(2) == 0 => new JsonObject { ["type"] = Pick(random, "redacted_thinking", "server_tool_use"), ["data"] = "x" },
        < 20 => new JsonObject { ["type"] = "document", ["source"] = GeneratedDocumentSource(random), ["title"] = Pick(random, Texts) },
        < 29 when userTurn => GeneratedToolResult(random),
        < 29 => new JsonObject { ["type"] = "tool_use", ["id"] = "t" + random.Next(3), ["name"] = Pick(random, "get_weather", "search"), ["input"] = new JsonObject { ["q"] = Pick(random, Texts) } },
        39 => new JsonObject { ["type"] = userTurn ? "tool_use" : "tool_result", ["id"] = "t", ["tool_use_id"] = "t", ["name"] = "f", ["input"] = new JsonObject() },
        _ => new JsonObject { ["type"] = "text", ["text"] = Pick(random, Texts), ["cache_control"] = new JsonObject { ["type"] = "ephemeral" } },
    };

    private static JsonObject GeneratedSource(Random random) => random.Next(12) switch
    {
        < 5 => new JsonObject { ["type"] = "base64", ["media_type"] = "image/png", ["data"] = "iVBORw0KGgo=" },
        < 9 => new JsonObject { ["type"] = "url", ["url"] = "https://example.com/i.png" },
        < 11 => new JsonObject { ["type"] = "file", ["file_id"] = "f" },
        _ => new JsonObject { ["type"] = "base64", ["data"] = "AA==" },
    };

    private static JsonObject GeneratedDocumentSource(Random random) => random.Next(12) switch
    {
        < 4 => new JsonObject { ["type"] = "base64", ["media_type"] = "application/pdf", ["data"] = "JVBERi0=" },
        < 7 => new JsonObject { ["type"] = "text", ["media_type"] = "text/plain", ["data"] = Pick(random, Texts) },
        < 9 => new JsonObject { ["type"] = "url", ["url"] = "https://example.com/d.pdf" },
        < 10 => new JsonObject { ["type"] = "file", ["file_id"] = "f" },
        < 11 => new JsonObject { ["type"] = "content", ["content"] = new JsonArray() },
        _ => new JsonObject { ["type"] = "text" },
    };

    private static JsonObject GeneratedToolResult(Random random)
    {
        var result = new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = "t" + random.Next(3) };
        switch (random.Next(6))
        {
            case 0:
                break;
            case 1:
                result["content"] = null;
                break;
            case 2:
            case 3:
                result["content"] = Pick(random, Texts);
                break;
            default:
                result["content"] = new JsonArray
                {
                    new JsonObject { ["type"] = "text", ["text"] = Pick(random, Texts) },
                    random.Next(3) == 0 ? new JsonObject { ["type"] = "image", ["source"] = GeneratedSource(random) } : new JsonObject { ["type"] = "search_result", ["title"] = "t" },
                };
                break;
        }

        return result;
    }

    private static JsonObject GeneratedTool(Random random)
    {
        var tool = new JsonObject { ["name"] = random.Next(25) == 0 ? "" : Pick(random, "get_weather", "search") };
        switch (random.Next(6))
        {
            case 0:
                tool["type"] = "custom";
                break;
            case 1:
                tool["type"] = "web_search_20250305";
                break;
        }

        if (random.Next(2) == 0)
        {
            tool["description"] = random.Next(6) == 0 ? 3 : Pick(random, Texts);
        }

        if (random.Next(25) > 0)
        {
            tool["input_schema"] = new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject { ["city"] = new JsonObject { ["type"] = "string", ["description"] = Pick(random, Texts) } },
            };
        }

        return tool;
    }
}
