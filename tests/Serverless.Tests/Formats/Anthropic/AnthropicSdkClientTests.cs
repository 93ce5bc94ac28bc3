using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Anthropic;
using Xunit;
using Sdk = global::Anthropic.Models.Messages;

namespace Serverless.Tests.Formats.Anthropic;

/// <summary>
/// The official Anthropic client talks to a loopback handler that plays the relay: it parses what the SDK sends with
/// the request reader and answers with the response writer or stream encoder.
/// </summary>
public sealed class AnthropicSdkClientTests
{
    [Fact]
    public async Task Create_SdkRequestAndRelayAnswer_RoundTrip()
    {
        var relay = new RelayHandler(request => new ChatResponse
        {
            Id = "msg_relay",
            Model = "claude-relay",
            Content = [new TextPart("Hi " + ((TextPart)request.Messages[0].Content[0]).Text)],
            StopReason = StopReason.MaxTokens,
            Usage = new Usage { InputTokens = 12, OutputTokens = 3, CacheReadTokens = 5 },
        });
        using var client = Client(relay);

        var message = await client.Messages.Create(
            new Sdk::MessageCreateParams
            {
                Model = "claude-sonnet-4-5",
                MaxTokens = 64,
                System = "Be brief.",
                StopSequences = ["END"],
                Messages = [new Sdk::UserMessageParam("there")],
            },
            TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        var seen = Assert.Single(relay.Requests);
        Assert.Equal("claude-sonnet-4-5", seen.Model);
        Assert.Equal(64, seen.MaxOutputTokens);
        Assert.Equal([new TextPart("Be brief.")], seen.System);
        Assert.Equal(["END"], seen.StopSequences);
        Assert.False(seen.Stream);

        Assert.Equal("msg_relay", message.ID);
        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("Hi there", text.Text);
        Assert.Equal(Sdk::StopReason.MaxTokens, message.StopReason!.Value());
        Assert.Equal(12, message.Usage.InputTokens);
        Assert.Equal(5, message.Usage.CacheReadInputTokens);
    }

    [Fact]
    public async Task CreateStreaming_RelayEncodedStream_SdkReadsEveryEvent()
    {
        var relay = new RelayHandler(_ => throw new InvalidOperationException("streaming only"))
        {
            Stream =
            [
                new MessageStarted("msg_s", "claude-relay", new UsageReport { InputTokens = 9 }),
                new TextStarted(0),
                new TextDelta(0, "Hel"),
                new TextDelta(0, "lo"),
                new BlockStopped(0),
                new ToolCallStarted(1, "toolu_9", "lookup"),
                new ToolArgumentsDelta(1, "{\"q\":\"x\"}"),
                new BlockStopped(1),
                new MessageFinished(StopReason.ToolUse),
                new UsageReported(new UsageReport { OutputTokens = 4 }),
                MessageStopped.Instance,
            ],
        };
        using var client = Client(relay);

        var text = new StringBuilder();
        var json = new StringBuilder();
        Sdk::RawMessageDeltaEvent? delta = null;
        var count = 0;
        await foreach (var streamEvent in client.Messages.CreateStreaming(
            new Sdk::MessageCreateParams
            {
                Model = "claude-sonnet-4-5",
                MaxTokens = 64,
                Messages = [new Sdk::UserMessageParam("hi")],
            },
            TestContext.Current.CancellationToken).WithCancellation(TestContext.Current.CancellationToken))
        {
            count++;
            if (streamEvent.TryPickContentBlockDelta(out var blockDelta))
            {
                if (blockDelta.Delta.TryPickText(out var textDelta))
                {
                    text.Append(textDelta.Text);
                }
                else if (blockDelta.Delta.TryPickInputJson(out var inputJson))
                {
                    json.Append(inputJson.PartialJson);
                }
            }
            else if (streamEvent.TryPickDelta(out var messageDelta))
            {
                delta = messageDelta;
            }
        }

        Assert.True(Assert.Single(relay.Requests).Stream);
        Assert.Equal(10, count);
        Assert.Equal("Hello", text.ToString());
        Assert.Equal("{\"q\":\"x\"}", json.ToString());
        Assert.NotNull(delta);
        Assert.Equal(Sdk::StopReason.ToolUse, delta.Delta.StopReason!.Value());
        Assert.Equal(4, delta.Usage.OutputTokens);
        Assert.Equal(9, delta.Usage.InputTokens);
    }

    private static global::Anthropic.AnthropicClient Client(RelayHandler relay) => new()
    {
        ApiKey = "sk-ant-test",
        BaseUrl = "http://relay.test",
        MaxRetries = 0,
        HttpClient = new HttpClient(relay),
    };

    /// <summary>Plays the relay: reads the SDK's body with the request reader and answers in the Anthropic format.</summary>
    private sealed class RelayHandler(Func<ChatRequest, ChatResponse> answer) : HttpMessageHandler
    {
        public List<ChatRequest> Requests { get; } = [];

        public IReadOnlyList<StreamEvent>? Stream { get; init; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var body = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
            var parsed = AnthropicFormat.Instance.ReadRequest(body.RootElement, modelFromPath: null, stream: false);
            Assert.Null(parsed.Error);
            Requests.Add(parsed.Value!);

            var output = new ArrayBufferWriter<byte>();
            string mediaType;
            if (parsed.Value!.Stream)
            {
                var encoder = AnthropicFormat.Instance.CreateStreamEncoder(parsed.Value);
                foreach (var streamEvent in Stream!)
                {
                    encoder.Write(streamEvent, output);
                }

                mediaType = "text/event-stream";
            }
            else
            {
                using var writer = new Utf8JsonWriter(output);
                AnthropicFormat.Instance.WriteResponse(answer(parsed.Value), AnswerOnly.Request, writer);
                mediaType = "application/json";
            }

            return new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent(Encoding.UTF8.GetString(output.WrittenSpan), Encoding.UTF8, mediaType),
            };
        }
    }
}
