using System.Globalization;
using System.Text;
using Serverless.Tests.Infrastructure;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Platforms;
using Serverless.Webhooks.Platforms.Slack;
using Xunit;
using static Serverless.Tests.Webhooks.Platforms.PlatformTestKit;

namespace Serverless.Tests.Webhooks.Platforms;

public sealed class SlackPlatformTests
{
    private const string Secret = "signing-secret";
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Uri Nowhere = new("http://127.0.0.1:9");

    private static Channel SlackChannel(Uri baseUrl) => Channel(ImPlatform.Slack, baseUrl, ("botToken", "xoxb-token"), ("signingSecret", Secret));

    private static WebhookVerdict Read(string body)
    {
        var timestamp = Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signature = SlackSignature.Compute(Secret, timestamp, Encoding.UTF8.GetBytes(body));
        return new SlackPlatform(Http()).Read(SlackChannel(Nowhere), Post(body, ("X-Slack-Request-Timestamp", timestamp), ("X-Slack-Signature", signature)), Now);
    }

    private static string Event(string ev) =>
        $$"""{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev123","event_time":1,"authorizations":[{"team_id":"T1","user_id":"UBOT","is_bot":true}],"event":{{ev}}}""";

    [Fact]
    public void Read_UrlVerification_EchoesChallenge()
    {
        var challenge = Accepted<WebhookVerdict.Challenge>(Read("""{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"""));

        Assert.Equal("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", challenge.Body);
    }

    [Fact]
    public void Read_AppMentionInChannel_StripsMentionAndThreadsOnTheMessage()
    {
        var message = Message(Read(Event("""{"type":"app_mention","user":"U1","text":"<@UBOT> summarize <@U2>","ts":"1700.0001","channel":"C1","event_ts":"1700.0001"}""")));

        Assert.Equal("Ev123", message.MessageKey);
        Assert.Equal("summarize <@U2>", message.Text);
        Assert.True(message.IsGroup);
        Assert.True(message.AddressedToBot);
        Assert.Equal("C1:1700.0001", message.ConversationId);
        Assert.Equal("1700.0001", message.ReplyTo.ThreadId);
    }

    [Fact]
    public void Read_AppMentionInsideThread_UsesTheThread()
    {
        var message = Message(Read(Event("""{"type":"app_mention","user":"U1","text":"<@UBOT> more","ts":"1700.0009","thread_ts":"1700.0001","channel":"C1"}""")));

        Assert.Equal("C1:1700.0001", message.ConversationId);
        Assert.Equal("1700.0001", message.ReplyTo.ThreadId);
    }

    [Fact]
    public void Read_DirectMessage_AddressedConversationIsTheDm()
    {
        var message = Message(Read(Event("""{"type":"message","channel_type":"im","user":"U1","text":"hi","ts":"1700.0002","channel":"D1"}""")));

        Assert.False(message.IsGroup);
        Assert.True(message.AddressedToBot);
        Assert.Equal("D1", message.ConversationId);
        Assert.Null(message.ReplyTo.ThreadId);
    }

    [Fact]
    public void Read_ChannelMessage_NotAddressed()
    {
        Assert.False(Message(Read(Event("""{"type":"message","channel_type":"channel","user":"U1","text":"<@UBOT> hi","ts":"1.2","channel":"C1"}"""))).AddressedToBot);
    }

    [Fact]
    public void Read_TextWithEntities_ReadAsTyped()
    {
        var message = Message(Read(Event("""{"type":"app_mention","user":"U1","text":"<@UBOT> is 1 &lt; 2 &amp;&amp; 3 &gt; 2? see &amp;lt;","ts":"1.2","channel":"C1"}""")));

        Assert.Equal("is 1 < 2 && 3 > 2? see &lt;", message.Text);
    }

    [Theory]
    [InlineData("""{"type":"message","channel_type":"im","bot_id":"B1","text":"our reply","ts":"1.2","channel":"D1"}""")]
    [InlineData("""{"type":"message","subtype":"message_changed","channel_type":"im","channel":"D1","ts":"1.3"}""")]
    [InlineData("""{"type":"reaction_added","user":"U1","reaction":"x"}""")]
    public void Read_BotMessageOrOtherEvent_Ignored(string ev)
    {
        Assert.IsType<WebhookVerdict.Ignored>(Read(Event(ev)));
    }

    [Fact]
    public async Task SendAsync_Reply_PostsWithBearerAndThread()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();

        var result = await new SlackPlatform(Http()).SendAsync(SlackChannel(new Uri(api.BaseUrl, "/api")), new ReplyTarget { ChatId = "C1", ThreadId = "1700.0001" }, "answer", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.IsType<DeliveryResult.Delivered>(result);
        var request = Assert.Single(api.Requests);
        Assert.Equal("/api/chat.postMessage", request.Path);
        Assert.Equal("Bearer xoxb-token", request.Header("Authorization"));
        Assert.Equal("C1", request.Json.GetProperty("channel").GetString());
        Assert.Equal("answer", request.Json.GetProperty("text").GetString());
        Assert.Equal("1700.0001", request.Json.GetProperty("thread_ts").GetString());
    }

    [Fact]
    public async Task SendAsync_ControlCharacters_EscapedAndMeasuredEscaped()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        var platform = new SlackPlatform(Http());

        var result = await platform.SendAsync(SlackChannel(new Uri(api.BaseUrl, "/api")), new ReplyTarget { ChatId = "C1" }, "<!channel> List<T> & 1 > 0", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.IsType<DeliveryResult.Delivered>(result);
        Assert.Equal("&lt;!channel&gt; List&lt;T&gt; &amp; 1 &gt; 0", Assert.Single(api.Requests).Json.GetProperty("text").GetString());
        Assert.Equal("&lt;&amp;&gt;".Length, platform.MeasureText("<&>"));
    }

    [Theory]
    [InlineData(429, """{"ok":false,"error":"ratelimited"}""")]
    [InlineData(200, """{"ok":false,"error":"ratelimited"}""")]
    public async Task SendAsync_RateLimited_RetryAfterFromHeader(int status, string body)
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        api.Script("/chat.postMessage", SimulatedPlatformApi.RetryAfterHeader(status, body, 30));

        var result = await new SlackPlatform(Http()).SendAsync(SlackChannel(new Uri(api.BaseUrl, "/api")), new ReplyTarget { ChatId = "C1" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.Equal(TimeSpan.FromSeconds(30), Assert.IsType<DeliveryResult.RetryAfter>(result).Delay);
    }

    [Theory]
    [InlineData("channel_not_found", true)]
    [InlineData("invalid_auth", true)]
    [InlineData("not_in_channel", true)]
    [InlineData("internal_error", false)]
    public async Task SendAsync_OkFalse_MapsErrorCode(string error, bool permanent)
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        api.Script("/chat.postMessage", new PlatformAnswer(200, $$"""{"ok":false,"error":"{{error}}"}"""));

        var result = await new SlackPlatform(Http()).SendAsync(SlackChannel(new Uri(api.BaseUrl, "/api")), new ReplyTarget { ChatId = "C1" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        var failed = Assert.IsType<DeliveryResult.Failed>(result);
        Assert.Equal(permanent, failed.Permanent);
        Assert.Equal("Slack API error " + error, failed.Reason);
    }
}
