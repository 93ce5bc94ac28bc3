using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Xunit;
using Sdk = global::Anthropic.Models.Messages;

namespace Serverless.Tests.Formats.Anthropic;

public sealed class AnthropicResponseTests
{
    private const string RecordedResponse = """
        {"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
         "content":[
           {"type":"thinking","thinking":"The user wants weather.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
           {"type":"text","text":"Let me check.","citations":null},
           {"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA","unit":"celsius"}},
           {"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"x"}},
           {"type":"redacted_thinking","data":"opaque"}],
         "stop_reason":"tool_use","stop_sequence":null,
         "usage":{"input_tokens":2095,"cache_creation_input_tokens":100,"cache_read_input_tokens":1800,
                  "cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":0},"output_tokens":503,"service_tier":"standard"}}
        """;

    private static ChatResponse Read(string json)
    {
        var parsed = AnthropicFormat.Instance.ReadResponse(AnthropicTestJson.Parse(json));
        Assert.Null(parsed.Error);
        return parsed.Value!;
    }

    private static string Write(ChatResponse response) =>
        AnthropicTestJson.Write(writer => AnthropicFormat.Instance.WriteResponse(response, AnswerOnly.Request, writer));

    [Fact]
    public void ReadResponse_RecordedMessage_MapsContentStopReasonAndUsage()
    {
        var response = Read(RecordedResponse);

        Assert.Equal("msg_01XFDUDYJgAACzvnptvVoYEL", response.Id);
        Assert.Equal("claude-sonnet-4-5-20250929", response.Model);
        Assert.Equal(
            [
                new ThinkingPart("The user wants weather.", "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds", ThinkingSigner.Anthropic),
                new TextPart("Let me check."),
                new ToolCallPart("toolu_01A09q90qw90lq917835lq9", "get_weather", """{"location":"San Francisco, CA","unit":"celsius"}"""),
            ],
            response.Content);
        Assert.Equal(StopReason.ToolUse, response.StopReason);
        Assert.Null(response.StopSequence);
        Assert.Equal(new Usage { InputTokens = 2095, OutputTokens = 503, CacheWriteTokens = 100, CacheReadTokens = 1800 }, response.Usage);
        Assert.Equal(3995, response.Usage.TotalInputTokens);
    }

    [Theory]
    [InlineData("end_turn", StopReason.EndTurn)]
    [InlineData("max_tokens", StopReason.MaxTokens)]
    [InlineData("stop_sequence", StopReason.StopSequence)]
    [InlineData("tool_use", StopReason.ToolUse)]
    [InlineData("refusal", StopReason.ContentFilter)]
    [InlineData("pause_turn", StopReason.Other)]
    [InlineData("model_context_window_exceeded", StopReason.MaxTokens)]
    public void ReadResponse_StopReason_IsMapped(string wire, object expected)
    {
        var response = Read($$$"""{"id":"m","model":"c","content":[],"stop_reason":"{{{wire}}}","stop_sequence":"###","usage":{"input_tokens":1,"output_tokens":1}}""");

        Assert.Equal((StopReason)expected, response.StopReason);
        Assert.Equal("###", response.StopSequence);
    }

    [Theory]
    [InlineData("[]", "upstream response is not an Anthropic message: the body is not a JSON object")]
    [InlineData("""{"id":"m"}""", "upstream response is not an Anthropic message: content is missing or not an array")]
    public void ReadResponse_Unusable_ReturnsUpstreamError(string json, string message)
    {
        var parsed = AnthropicFormat.Instance.ReadResponse(AnthropicTestJson.Parse(json));

        Assert.Equal(new RelayError(ErrorKind.Upstream, message), parsed.Error);
    }

    [Fact]
    public void WriteResponse_AllPartKinds_WritesExactMessage()
    {
        var response = new ChatResponse
        {
            Id = "msg_1",
            Model = "gpt-4o",
            Content =
            [
                new ThinkingPart("reasoning"),
                new TextPart("Hello"),
                new ToolCallPart("call_1", "f", """{"a":1}"""),
            ],
            StopReason = StopReason.ToolUse,
            Usage = new Usage { InputTokens = 10, OutputTokens = 5, CacheReadTokens = 3, CacheWriteTokens = 2 },
        };

        Assert.Equal(
            AnthropicTestJson.Compact("""
                {"id":"msg_1","type":"message","role":"assistant","model":"gpt-4o","content":[
                  {"type":"thinking","thinking":"reasoning","signature":""},
                  {"type":"text","text":"Hello"},
                  {"type":"tool_use","id":"call_1","name":"f","input":{"a":1},"caller":{"type":"direct"}}],
                 "stop_reason":"tool_use","stop_sequence":null,
                 "usage":{"input_tokens":10,"output_tokens":5,"cache_creation_input_tokens":2,"cache_read_input_tokens":3}}
                """),
            Write(response));
    }

    [Theory]
    [InlineData(StopReason.EndTurn, "end_turn", null)]
    [InlineData(StopReason.MaxTokens, "max_tokens", null)]
    [InlineData(StopReason.StopSequence, "stop_sequence", "END")]
    [InlineData(StopReason.ToolUse, "tool_use", null)]
    [InlineData(StopReason.ContentFilter, "refusal", null)]
    [InlineData(StopReason.Other, "end_turn", null)]
    public void WriteResponse_StopReason_IsMapped(object stopReason, string wire, string? stopSequence)
    {
        var json = Write(new ChatResponse { Id = "m", Model = "c", Content = [], StopReason = (StopReason)stopReason, StopSequence = "END" });

        using var document = JsonDocument.Parse(json);
        Assert.Equal(wire, document.RootElement.GetProperty("stop_reason").GetString());
        Assert.Equal(stopSequence, document.RootElement.GetProperty("stop_sequence").GetString());
    }

    [Fact]
    public void RoundTrip_ReadThenWrite_KeepsEverythingTheCanonicalModelCarries()
    {
        var written = Write(Read(RecordedResponse));

        Assert.Equal(
            AnthropicTestJson.Compact("""
                {"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[
                  {"type":"thinking","thinking":"The user wants weather.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
                  {"type":"text","text":"Let me check."},
                  {"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA","unit":"celsius"},"caller":{"type":"direct"}}],
                 "stop_reason":"tool_use","stop_sequence":null,
                 "usage":{"input_tokens":2095,"output_tokens":503,"cache_creation_input_tokens":100,"cache_read_input_tokens":1800}}
                """),
            written);
    }

    [Fact]
    public void WriteResponse_AnthropicSdk_DeserializesAndValidates()
    {
        var json = Write(Read(RecordedResponse) with { StopReason = StopReason.StopSequence, StopSequence = "END" });

        var message = JsonSerializer.Deserialize<Sdk::Message>(json)!;
        message.Validate();

        Assert.Equal("msg_01XFDUDYJgAACzvnptvVoYEL", message.ID);
        Assert.Equal("claude-sonnet-4-5-20250929", message.Model.Raw());
        Assert.Equal(Sdk::StopReason.StopSequence, message.StopReason!.Value());
        Assert.Equal("END", message.StopSequence);
        Assert.Equal(2095, message.Usage.InputTokens);
        Assert.Equal(503, message.Usage.OutputTokens);
        Assert.Equal(100, message.Usage.CacheCreationInputTokens);
        Assert.Equal(1800, message.Usage.CacheReadInputTokens);
        Assert.Equal(3, message.Content.Count);
        Assert.True(message.Content[0].TryPickThinking(out var thinking));
        Assert.Equal("The user wants weather.", thinking.Thinking);
        Assert.True(message.Content[1].TryPickText(out var text));
        Assert.Equal("Let me check.", text.Text);
        Assert.True(message.Content[2].TryPickToolUse(out var toolUse));
        Assert.Equal(("toolu_01A09q90qw90lq917835lq9", "get_weather"), (toolUse.ID, toolUse.Name));
        Assert.Equal("San Francisco, CA", toolUse.Input["location"].GetString());
    }
}
