using Serverless.Tests.Infrastructure;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Platforms;
using Serverless.Webhooks.Platforms.Telegram;
using Xunit;
using static Serverless.Tests.Webhooks.Platforms.PlatformTestKit;

namespace Serverless.Tests.Webhooks.Platforms;

public sealed class TelegramPlatformTests
{
    private const string Token = "123456:ABC-secret";
    private static readonly Uri Nowhere = new("http://127.0.0.1:9");

    private static Channel TelegramChannel(Uri baseUrl) =>
        Channel(ImPlatform.Telegram, baseUrl, ("botToken", Token), ("secretToken", "s3cret"), ("botUsername", "relay_bot"));

    private static WebhookVerdict Read(string body, string secret = "s3cret") =>
        new TelegramPlatform(Http()).Read(TelegramChannel(Nowhere), Post(body, ("X-Telegram-Bot-Api-Secret-Token", secret)), DateTimeOffset.UnixEpoch);

    [Fact]
    public void Read_PrivateMessage_AddressedWithUpdateIdAsKey()
    {
        var message = Message(Read("""{"update_id":1001,"message":{"message_id":7,"from":{"id":42,"is_bot":false,"first_name":"A"},"chat":{"id":42,"type":"private"},"date":1,"text":" hello "}}"""));

        Assert.Equal("1001", message.MessageKey);
        Assert.Equal("42", message.ConversationId);
        Assert.Equal("42", message.UserId);
        Assert.Equal("hello", message.Text);
        Assert.False(message.IsGroup);
        Assert.True(message.AddressedToBot);
        Assert.Equal(new ReplyTarget { ChatId = "42", MessageId = "7", UserId = "42" }, message.ReplyTo);
    }

    [Fact]
    public void Read_GroupMentionInForumTopic_StripsMentionAndThreadsOnTopic()
    {
        var message = Message(Read("""{"update_id":1002,"message":{"message_id":8,"message_thread_id":55,"is_topic_message":true,"from":{"id":42,"is_bot":false},"chat":{"id":-100123,"type":"supergroup"},"text":"@relay_bot what is 2+2?","entities":[{"type":"mention","offset":0,"length":10}]}}"""));

        Assert.Equal("what is 2+2?", message.Text);
        Assert.True(message.IsGroup);
        Assert.True(message.AddressedToBot);
        Assert.Equal("-100123:55", message.ConversationId);
        Assert.Equal("55", message.ReplyTo.ThreadId);
    }

    [Fact]
    public void Read_GroupWithoutMention_NotAddressed()
    {
        var message = Message(Read("""{"update_id":1003,"message":{"message_id":9,"from":{"id":42,"is_bot":false},"chat":{"id":-5,"type":"group"},"text":"hi @someone_else","entities":[{"type":"mention","offset":3,"length":13}]}}"""));

        Assert.False(message.AddressedToBot);
        Assert.Equal("hi @someone_else", message.Text);
    }

    [Fact]
    public void Read_GroupReplyToTheBot_Addressed()
    {
        var message = Message(Read("""{"update_id":1004,"message":{"message_id":10,"from":{"id":42,"is_bot":false},"chat":{"id":-5,"type":"group"},"text":"and then?","reply_to_message":{"message_id":3,"from":{"id":123456,"is_bot":true}}}}"""));

        Assert.True(message.AddressedToBot);
    }

    [Fact]
    public void Read_CommandForTheBot_KeepsCommandWithoutUsername()
    {
        var message = Message(Read("""{"update_id":1005,"message":{"message_id":11,"from":{"id":42,"is_bot":false},"chat":{"id":-5,"type":"group"},"text":"/new@relay_bot","entities":[{"type":"bot_command","offset":0,"length":14}]}}"""));

        Assert.Equal("/new", message.Text);
        Assert.True(message.AddressedToBot);
    }

    [Theory]
    [InlineData("""{"update_id":1,"message":{"message_id":1,"from":{"id":9,"is_bot":true},"chat":{"id":9,"type":"private"},"text":"loop"}}""")]
    [InlineData("""{"update_id":1,"message":{"message_id":1,"from":{"id":9,"is_bot":false},"chat":{"id":9,"type":"private"},"photo":[{"file_id":"x"}]}}""")]
    [InlineData("""{"update_id":1,"edited_message":{"message_id":1,"from":{"id":9},"chat":{"id":9,"type":"private"},"text":"edit"}}""")]
    public void Read_BotMediaOrEdit_Ignored(string body)
    {
        Assert.IsType<WebhookVerdict.Ignored>(Read(body));
    }

    [Fact]
    public void Read_WrongSecret_Refused401AndMalformed400()
    {
        Assert.Equal(401, Accepted<WebhookVerdict.Refused>(Read("{}", "wrong")).Status);
        Assert.Equal(400, Accepted<WebhookVerdict.Refused>(Read("not json")).Status);
    }

    [Fact]
    public async Task SendAsync_Reply_PostsToSendMessageWithReplyAndTopic()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        var platform = new TelegramPlatform(Http());

        var result = await platform.SendAsync(TelegramChannel(api.BaseUrl), new ReplyTarget { ChatId = "-100123", MessageId = "8", ThreadId = "55" }, "four", "k:0", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.IsType<DeliveryResult.Delivered>(result);
        var request = Assert.Single(api.Requests);
        Assert.Equal("/bot" + Token + "/sendMessage", request.Path);
        Assert.Equal(-100123, request.Json.GetProperty("chat_id").GetInt64());
        Assert.Equal("four", request.Json.GetProperty("text").GetString());
        Assert.Equal(8, request.Json.GetProperty("reply_parameters").GetProperty("message_id").GetInt64());
        Assert.Equal(55, request.Json.GetProperty("message_thread_id").GetInt64());
    }

    [Fact]
    public async Task SendAsync_429WithRetryAfter_RetryAfterThatLong()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        api.Script("/sendMessage", new PlatformAnswer(429, """{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 17","parameters":{"retry_after":17}}"""));

        var result = await new TelegramPlatform(Http()).SendAsync(TelegramChannel(api.BaseUrl), new ReplyTarget { ChatId = "1" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.Equal(TimeSpan.FromSeconds(17), Assert.IsType<DeliveryResult.RetryAfter>(result).Delay);
    }

    [Theory]
    [InlineData(401, true)]
    [InlineData(403, true)]
    [InlineData(502, false)]
    public async Task SendAsync_ErrorStatus_PermanentOrTransientWithoutToken(int status, bool permanent)
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        api.Script("/sendMessage", new PlatformAnswer(status, """{"ok":false,"description":"nope"}"""));

        var result = await new TelegramPlatform(Http()).SendAsync(TelegramChannel(api.BaseUrl), new ReplyTarget { ChatId = "1" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        var failed = Assert.IsType<DeliveryResult.Failed>(result);
        Assert.Equal(permanent, failed.Permanent);
        Assert.DoesNotContain("ABC-secret", failed.Reason);
    }

    [Fact]
    public async Task SendAsync_NothingListening_TransientWithoutToken()
    {
        var result = await new TelegramPlatform(Http()).SendAsync(TelegramChannel(Nowhere), new ReplyTarget { ChatId = "1" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        var failed = Assert.IsType<DeliveryResult.Failed>(result);
        Assert.False(failed.Permanent);
        Assert.DoesNotContain("ABC-secret", failed.Reason);
    }
}
