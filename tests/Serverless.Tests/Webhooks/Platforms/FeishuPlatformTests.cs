using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Platforms;
using Serverless.Webhooks.Platforms.Feishu;
using Xunit;
using static Serverless.Tests.Webhooks.Platforms.PlatformTestKit;

namespace Serverless.Tests.Webhooks.Platforms;

public sealed class FeishuPlatformTests(AzuriteFixture azurite)
{
    private static readonly Uri Nowhere = new("http://127.0.0.1:9");

    private static Channel FeishuChannel(Uri baseUrl, string? encryptKey = null) => encryptKey is null
        ? Channel(ImPlatform.Feishu, baseUrl, ("appId", "cli_1"), ("appSecret", "app-secret"), ("verificationToken", "vtoken"))
        : Channel(ImPlatform.Feishu, baseUrl, ("appId", "cli_1"), ("appSecret", "app-secret"), ("verificationToken", "vtoken"), ("encryptKey", encryptKey));

    private static string Event(string chatType, string content, string mentions = "[]", string senderType = "user", string messageType = "text", string token = "vtoken") =>
        new JsonObject
        {
            ["schema"] = "2.0",
            ["header"] = new JsonObject { ["event_id"] = "ev-1", ["event_type"] = "im.message.receive_v1", ["token"] = token, ["app_id"] = "cli_1", ["create_time"] = "1" },
            ["event"] = new JsonObject
            {
                ["sender"] = new JsonObject { ["sender_id"] = new JsonObject { ["open_id"] = "ou_user" }, ["sender_type"] = senderType },
                ["message"] = new JsonObject
                {
                    ["message_id"] = "om_1", ["chat_id"] = "oc_chat", ["chat_type"] = chatType, ["message_type"] = messageType,
                    ["content"] = content, ["mentions"] = JsonNode.Parse(mentions),
                },
            },
        }.ToJsonString();

    private static WebhookVerdict Read(Channel channel, string body, params (string, string)[] headers) =>
        new FeishuPlatform(Http(), null!).Read(channel, Post(body, headers), DateTimeOffset.UnixEpoch);

    [Fact]
    public void Read_UrlVerification_AnswersChallengeJson()
    {
        var challenge = Accepted<WebhookVerdict.Challenge>(Read(FeishuChannel(Nowhere), """{"challenge":"ajls384kdjx98XX","token":"vtoken","type":"url_verification"}"""));

        Assert.Equal("application/json", challenge.ContentType);
        Assert.Equal("""{"challenge":"ajls384kdjx98XX"}""", challenge.Body);
        Assert.Equal(401, Accepted<WebhookVerdict.Refused>(Read(FeishuChannel(Nowhere), """{"challenge":"c","token":"wrong","type":"url_verification"}""")).Status);
    }

    [Fact]
    public void Read_EncryptedUrlVerification_Decrypted()
    {
        var body = new JsonObject { ["encrypt"] = FeishuCrypto.Encrypt("""{"challenge":"c-1","token":"vtoken","type":"url_verification"}""", "ek") }.ToJsonString();

        Assert.Equal("""{"challenge":"c-1"}""", Accepted<WebhookVerdict.Challenge>(Read(FeishuChannel(Nowhere, "ek"), body)).Body);
    }

    [Fact]
    public void Read_GroupMention_StripsPlaceholderAndIsAddressed()
    {
        var message = Message(Read(FeishuChannel(Nowhere), Event("group", """{"text":"@_user_1 translate for @_user_2"}""",
            """[{"key":"@_user_1","id":{"open_id":"ou_bot"},"name":"Relay"},{"key":"@_user_2","id":{"open_id":"ou_2"},"name":"Bob"}]""")));

        Assert.Equal("translate for @Bob", message.Text);
        Assert.True(message.IsGroup);
        Assert.True(message.AddressedToBot);
        Assert.Equal("oc_chat", message.ConversationId);
        Assert.Equal(new ReplyTarget { ChatId = "oc_chat", MessageId = "om_1", UserId = "ou_user" }, message.ReplyTo);
    }

    [Fact]
    public void Read_RepushWithAnotherEventId_SameDedupKey()
    {
        // "特殊情况下可能会收到重复的推送，如有幂等需求请使用 message_id 去重，不要依赖 event_id" (im.message.receive_v1).
        var first = Message(Read(FeishuChannel(Nowhere), Event("p2p", """{"text":"hi"}""")));
        var repush = Message(Read(FeishuChannel(Nowhere), Event("p2p", """{"text":"hi"}""").Replace("\"ev-1\"", "\"ev-2\"", StringComparison.Ordinal)));

        Assert.Equal("om_1", first.MessageKey);
        Assert.Equal(first.MessageKey, repush.MessageKey);
    }

    [Fact]
    public void Read_SchemaOneEvent_VerifiedByItsRootToken()
    {
        // Schema 1.0 events carry the verification token at the root, not in a header.
        const string V1 = """{"uuid":"u-1","token":"TOKEN","ts":"1700000000.1","type":"event_callback","event":{"type":"p2p_chat_create","app_id":"cli_1"}}""";

        Assert.IsType<WebhookVerdict.Ignored>(Read(FeishuChannel(Nowhere), V1.Replace("TOKEN", "vtoken", StringComparison.Ordinal)));
        Assert.Equal(401, Accepted<WebhookVerdict.Refused>(Read(FeishuChannel(Nowhere), V1.Replace("TOKEN", "forged", StringComparison.Ordinal))).Status);
    }

    [Fact]
    public void Read_GroupWithoutMention_NotAddressed_P2pAddressed()
    {
        Assert.False(Message(Read(FeishuChannel(Nowhere), Event("group", """{"text":"chatter"}"""))).AddressedToBot);
        var dm = Message(Read(FeishuChannel(Nowhere), Event("p2p", """{"text":"hi"}""")));
        Assert.True(dm.AddressedToBot);
        Assert.False(dm.IsGroup);
    }

    [Fact]
    public void Read_AppSenderOrImage_IgnoredAndBadToken_Refused()
    {
        Assert.IsType<WebhookVerdict.Ignored>(Read(FeishuChannel(Nowhere), Event("p2p", """{"text":"hi"}""", senderType: "app")));
        Assert.IsType<WebhookVerdict.Ignored>(Read(FeishuChannel(Nowhere), Event("p2p", """{"image_key":"img"}""", messageType: "image")));
        Assert.Equal(401, Accepted<WebhookVerdict.Refused>(Read(FeishuChannel(Nowhere), Event("p2p", """{"text":"hi"}""", token: "forged"))).Status);
        Assert.Equal(400, Accepted<WebhookVerdict.Refused>(Read(FeishuChannel(Nowhere), Event("p2p", "not json content"))).Status);
    }

    [Fact]
    public void Read_EncryptedEventWithSignature_AcceptedOnlyWhenSignatureMatches()
    {
        var body = new JsonObject { ["encrypt"] = FeishuCrypto.Encrypt(Event("p2p", """{"text":"secret hi"}"""), "ek") }.ToJsonString();
        var signature = FeishuCrypto.Signature("1700000000", "nonce-1", "ek", Encoding.UTF8.GetBytes(body));

        var good = Read(FeishuChannel(Nowhere, "ek"), body, ("X-Lark-Request-Timestamp", "1700000000"), ("X-Lark-Request-Nonce", "nonce-1"), ("X-Lark-Signature", signature));
        var bad = Read(FeishuChannel(Nowhere, "ek"), body, ("X-Lark-Request-Timestamp", "1700000001"), ("X-Lark-Request-Nonce", "nonce-1"), ("X-Lark-Signature", signature));

        Assert.Equal("secret hi", Message(good).Text);
        Assert.Equal(401, Accepted<WebhookVerdict.Refused>(bad).Status);
    }

    [Fact]
    public async Task SendAsync_TwoReplies_TokenFetchedOnceAndReplyThreaded()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("feishu")));
        var clock = Clock(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var platform = new FeishuPlatform(Http(), TokenCache(storage, clock));
        var channel = FeishuChannel(api.BaseUrl);
        var target = new ReplyTarget { ChatId = "oc_chat", MessageId = "om_1" };

        Assert.IsType<DeliveryResult.Delivered>(await platform.SendAsync(channel, target, "part one", "ev-1:0", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken));
        Assert.IsType<DeliveryResult.Delivered>(await platform.SendAsync(channel, target, "part two", "ev-1:1", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken));

        var token = Assert.Single(api.RequestsTo("/tenant_access_token/internal"));
        Assert.Equal("cli_1", token.Json.GetProperty("app_id").GetString());
        Assert.Equal("app-secret", token.Json.GetProperty("app_secret").GetString());
        var replies = api.RequestsTo("/reply");
        Assert.Equal(2, replies.Count);
        Assert.All(replies, r =>
        {
            Assert.Equal("/open-apis/im/v1/messages/om_1/reply", r.Path);
            Assert.Equal("Bearer t-1", r.Header("Authorization"));
            Assert.Equal("text", r.Json.GetProperty("msg_type").GetString());
        });
        Assert.Equal("""{"text":"part one"}""", replies[0].Json.GetProperty("content").GetString());
        Assert.Equal("ev-1:0", replies[0].Json.GetProperty("uuid").GetString());
        Assert.Equal("ev-1:1", replies[1].Json.GetProperty("uuid").GetString());
    }

    [Fact]
    public async Task SendAsync_TokenNearExpiry_RefreshedFiveMinutesEarly()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("feishu")));
        var clock = Clock(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var platform = new FeishuPlatform(Http(), TokenCache(storage, clock));
        var channel = FeishuChannel(api.BaseUrl);
        var target = new ReplyTarget { ChatId = "oc_chat", MessageId = "om_1" };

        await platform.SendAsync(channel, target, "a", "p:0", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);
        clock.Advance(TimeSpan.FromSeconds(7200 - 301));
        await platform.SendAsync(channel, target, "b", "p:1", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);
        Assert.Equal(1, api.TokensIssued);

        clock.Advance(TimeSpan.FromSeconds(2));
        await platform.SendAsync(channel, target, "c", "p:2", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.Equal(2, api.TokensIssued);
        Assert.Equal("Bearer t-2", api.RequestsTo("/reply")[^1].Header("Authorization"));
    }

    [Fact]
    public async Task SendAsync_TokenRejected_FetchesNewTokenOnceAndResends()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("feishu")));
        var platform = new FeishuPlatform(Http(), TokenCache(storage, Clock(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))));
        api.Script("/reply", new PlatformAnswer(400, """{"code":99991663,"msg":"Invalid access token for authorization."}"""));

        var result = await platform.SendAsync(FeishuChannel(api.BaseUrl), new ReplyTarget { ChatId = "c", MessageId = "om_1" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.IsType<DeliveryResult.Delivered>(result);
        Assert.Equal(["Bearer t-1", "Bearer t-2"], api.RequestsTo("/reply").Select(r => r.Header("Authorization")));
    }

    [Theory]
    [InlineData(429)]
    [InlineData(400)]
    public async Task SendAsync_RateLimited_WaitsForTheGatewayReset(int status)
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("feishu")));
        var platform = new FeishuPlatform(Http(), TokenCache(storage, Clock(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))));
        // Feishu's gateway says how long in x-ogw-ratelimit-reset (seconds), with no Retry-After.
        api.Script("/reply", new PlatformAnswer(status, """{"code":99991400,"msg":"request trigger frequency limit"}""",
            new Dictionary<string, string> { ["x-ogw-ratelimit-limit"] = "100", ["x-ogw-ratelimit-reset"] = "52" }));

        var result = await platform.SendAsync(FeishuChannel(api.BaseUrl), new ReplyTarget { ChatId = "c", MessageId = "om_1" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);

        Assert.Equal(TimeSpan.FromSeconds(52), Assert.IsType<DeliveryResult.RetryAfter>(result).Delay);
    }

    [Fact]
    public async Task SendAsync_RateLimitedAndBadCredentials_Mapped()
    {
        await using var api = await SimulatedPlatformApi.StartAsync();
        await using var storage = StorageTestKit.Services(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("feishu")));
        var platform = new FeishuPlatform(Http(), TokenCache(storage, Clock(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero))));
        api.Script("/reply", SimulatedPlatformApi.RetryAfterHeader(429, """{"code":99991400,"msg":"request trigger frequency limit"}""", 3));

        var limited = await platform.SendAsync(FeishuChannel(api.BaseUrl), new ReplyTarget { ChatId = "c", MessageId = "om_1" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);
        Assert.Equal(TimeSpan.FromSeconds(3), Assert.IsType<DeliveryResult.RetryAfter>(limited).Delay);

        api.Script("/tenant_access_token/internal", new PlatformAnswer(400, """{"code":10014,"msg":"app secret invalid"}"""));
        var other = FeishuChannel(api.BaseUrl);
        var refused = await platform.SendAsync(other, new ReplyTarget { ChatId = "c", MessageId = "om_1" }, "x", "k", TestContext.Current.CancellationToken).WaitAsync(Wait, TestContext.Current.CancellationToken);
        var failed = Assert.IsType<DeliveryResult.Failed>(refused);
        Assert.True(failed.Permanent);
        Assert.DoesNotContain("app-secret", failed.Reason);
    }
}
