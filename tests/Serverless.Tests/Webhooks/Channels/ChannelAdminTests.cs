using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Keys;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Pending;
using Serverless.Webhooks.Platforms;
using Xunit;

namespace Serverless.Tests.Webhooks.Channels;

/// <summary><c>/api/admin/channels</c> through the running handler against Azurite: validation, secrets, the channel's own key, pending rows.</summary>
public sealed class ChannelAdminTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private RelayHost _host = null!;

    public async ValueTask InitializeAsync() => _host = await RelayHost.StartAsync(azurite);

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    public static TheoryData<string, string, string> Platforms => new()
    {
        { "telegram", """{"botToken":"tg-secret-1","secretToken":"tg-secret-2"}""", "https://api.telegram.org" },
        { "slack", """{"botToken":"xoxb-secret-1","signingSecret":"slack-secret-2"}""", "https://slack.com/api" },
        { "feishu", """{"appId":"cli_1","appSecret":"fs-secret-2","verificationToken":"fs-secret-3","encryptKey":"fs-secret-4"}""", "https://open.feishu.cn" },
        { "dingtalk", """{"appKey":"ding-1","appSecret":"ding-secret-2"}""", "https://oapi.dingtalk.com" },
        { "wecom", """{"corpId":"ww1","corpSecret":"wc-secret-2","agentId":"1000002","token":"wc-secret-4","encodingAesKey":"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"}""", "https://qyapi.weixin.qq.com" },
    };

    [Theory]
    [MemberData(nameof(Platforms))]
    public async Task Create_EachPlatform_201WithWebhookUrlAndNoSecretAnywhere(string platform, string credentials, string defaultApi)
    {
        var answer = await SendAsync(HttpMethod.Post, "api/admin/channels", $$"""{"platform":"{{platform}}","name":"bot","model":"gpt-4o-mini","credentials":{{credentials}}}""");

        Assert.Equal(201, answer.Status);
        var view = answer.Json;
        var id = view.GetProperty("id").GetString()!;
        Assert.StartsWith("chan_", id, StringComparison.Ordinal);
        Assert.Equal($"/webhooks/{platform}/{id}", view.GetProperty("webhookUrl").GetString());
        Assert.Equal("/api/admin/channels/" + id, answer.Response.Headers.Location?.OriginalString);
        Assert.Equal(defaultApi, view.GetProperty("apiBaseUrl").GetString());
        var names = JsonDocument.Parse(credentials).RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal);
        Assert.Equal(names, view.GetProperty("credentials").EnumerateArray().Select(e => e.GetString()));
        var secrets = JsonDocument.Parse(credentials).RootElement.EnumerateObject().Select(p => p.Value.GetString()!).Where(s => s.Contains("secret", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(secrets);

        var listed = (await SendAsync(HttpMethod.Get, "api/admin/channels")).Body;
        var raw = await _host.Table(ChannelStore.Table).GetEntityAsync<TableEntity>("channel", id, cancellationToken: TestContext.Current.CancellationToken);
        var stored = string.Join("\n", raw.Value.Select(p => p.Value?.ToString()));
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, answer.Body, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, listed, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, stored, StringComparison.Ordinal);
        }

        // The hot path gets them back decrypted.
        var channel = await _host.Services.GetRequiredService<ChannelStore>().GetAsync(id, TestContext.Current.CancellationToken);
        Assert.Equal(secrets[0], channel!.Credentials.Values.First(v => v == secrets[0]));
    }

    [Fact]
    public async Task Create_ManyBadFields_EveryErrorInOneAnswer()
    {
        var answer = await SendAsync(HttpMethod.Post, "api/admin/channels",
            """{"platform":"wecom","model":"","apiBaseUrl":"ftp://x","perUserLimits":{"rpm":0,"nope":1},"keyId":"key_0000000000000000","credentials":{"corpId":"c","token":"t","agentId":"1","encodingAesKey":"short","extra":"x"}}""");

        Assert.Equal(400, answer.Status);
        Assert.Equal(
            "name is required; " +
            "model must be a non-empty string of at most 200 characters; " +
            "perUserLimits.rpm must be a positive whole number of at most 1000000000000; " +
            "perUserLimits.nope is not a known limit; known: " + string.Join(", ", KeyLimits.Fields.Select(f => f.Field)) + "; " +
            "apiBaseUrl must be an absolute http(s) URL without credentials, query or fragment; " +
            "credentials.extra is not a wecom credential; known: corpId, corpSecret, agentId, token, encodingAesKey; " +
            "credentials.corpSecret is required for wecom; " +
            "credentials.encodingAesKey must be 43 characters; " +
            "no key has id 'key_0000000000000000'",
            answer.ErrorMessage);
    }

    [Theory]
    [InlineData("""{"name":"b","model":"m","credentials":{}}""", "platform is required")]
    [InlineData("""{"platform":"icq","name":"b","model":"m","credentials":{}}""", "platform must be one of: telegram, slack, feishu, dingtalk, wecom")]
    [InlineData("""{"platform":"telegram","name":"b","model":"m"}""", "credentials is required")]
    [InlineData("""{"platform":"telegram","name":"b","model":"m","credentials":{"botToken":"x"}}""", "credentials.secretToken is required for telegram")]
    [InlineData("""{"platform":"slack","name":"b","model":"m","credentials":{"botToken":1,"signingSecret":"s"}}""", "credentials.botToken must be a non-empty string of at most 4096 characters")]
    public async Task Create_BadField_400NamesIt(string body, string message)
    {
        var answer = await SendAsync(HttpMethod.Post, "api/admin/channels", body);

        Assert.Equal(400, answer.Status);
        Assert.Equal(message, answer.ErrorMessage);
    }

    [Fact]
    public async Task Create_WithoutKeyId_CreatesAKeyOwnedByTheChannelForItsModelOnly_AndDeleteRemovesIt()
    {
        var answer = await SendAsync(HttpMethod.Post, "api/admin/channels", TelegramBody("helpdesk"));
        var id = answer.Json.GetProperty("id").GetString()!;
        var keyId = answer.Json.GetProperty("keyId").GetString()!;

        var key = (await SendAsync(HttpMethod.Get, "api/admin/keys/" + keyId)).Json;
        Assert.Equal("channel:" + id, key.GetProperty("owner").GetString());
        Assert.Equal("helpdesk", key.GetProperty("name").GetString());
        Assert.Equal(["gpt-4o-mini"], key.GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        Assert.False(key.TryGetProperty("key", out _));
        Assert.DoesNotContain("sk-relay-", answer.Body, StringComparison.Ordinal);

        var patched = await SendAsync(HttpMethod.Patch, "api/admin/channels/" + id, """{"model":"claude-haiku"}""");
        Assert.Equal(200, patched.Status);
        var followed = (await SendAsync(HttpMethod.Get, "api/admin/keys/" + keyId)).Json;
        Assert.Equal(["claude-haiku"], followed.GetProperty("models").EnumerateArray().Select(m => m.GetString()));

        Assert.Equal(204, (await SendAsync(HttpMethod.Delete, "api/admin/channels/" + id)).Status);
        Assert.Equal(404, (await SendAsync(HttpMethod.Get, "api/admin/channels/" + id)).Status);
        Assert.Equal(404, (await SendAsync(HttpMethod.Get, "api/admin/keys/" + keyId)).Status);
        Assert.Equal(404, (await SendAsync(HttpMethod.Delete, "api/admin/channels/" + id)).Status);
    }

    [Fact]
    public async Task Delete_ChannelWithAPlatformToken_TokenGoneFromMemoryAndTable()
    {
        var ct = TestContext.Current.CancellationToken;
        var answer = await SendAsync(HttpMethod.Post, "api/admin/channels",
            """{"platform":"feishu","name":"bot","model":"gpt-4o-mini","credentials":{"appId":"cli_1","appSecret":"fs-secret-2","verificationToken":"fs-secret-3"}}""");
        var id = answer.Json.GetProperty("id").GetString()!;
        var channel = (await _host.Services.GetRequiredService<ChannelStore>().GetAsync(id, ct))!;
        var tokens = _host.Services.GetRequiredService<PlatformTokenCache>();
        var issued = await tokens.GetAsync(channel, "cli_1\nfs-secret-2", _ => Task.FromResult(TokenFetch.Issued("t-live", TimeSpan.FromHours(2))), ct);
        var table = _host.Table(PlatformTokenStore.Table);
        Assert.Equal("t-live", issued.Token);
        Assert.True((await table.GetEntityIfExistsAsync<TableEntity>("feishu", id, cancellationToken: ct)).HasValue);
        var cachedBefore = tokens.Cached;

        Assert.Equal(204, (await SendAsync(HttpMethod.Delete, "api/admin/channels/" + id)).Status);

        Assert.False((await table.GetEntityIfExistsAsync<TableEntity>("feishu", id, cancellationToken: ct)).HasValue);
        Assert.Equal(cachedBefore - 1, tokens.Cached);
    }

    [Fact]
    public async Task Create_WithKeyId_UsesThatKeyAndDeleteKeepsIt()
    {
        var (keyId, _) = await _host.CreateKeyWithIdAsync(new { name = "shared" });

        var answer = await SendAsync(HttpMethod.Post, "api/admin/channels", TelegramBody("bot", $",\"keyId\":\"{keyId}\""));
        Assert.Equal(201, answer.Status);
        Assert.Equal(keyId, answer.Json.GetProperty("keyId").GetString());

        Assert.Equal(204, (await SendAsync(HttpMethod.Delete, "api/admin/channels/" + answer.Json.GetProperty("id").GetString())).Status);
        Assert.Equal(200, (await SendAsync(HttpMethod.Get, "api/admin/keys/" + keyId)).Status);
    }

    [Fact]
    public async Task Create_KeyThatRefusesTheModel_400()
    {
        var (keyId, _) = await _host.CreateKeyWithIdAsync(new { name = "narrow", models = new[] { "claude-*" } });

        var answer = await SendAsync(HttpMethod.Post, "api/admin/channels", TelegramBody("bot", $",\"keyId\":\"{keyId}\""));

        Assert.Equal(400, answer.Status);
        Assert.Equal($"key '{keyId}' does not allow model 'gpt-4o-mini'", answer.ErrorMessage);
    }

    [Fact]
    public async Task Patch_FieldsAndCredentials_ChangesOnlyThoseAndKeepsTheOtherSecrets()
    {
        var created = await SendAsync(HttpMethod.Post, "api/admin/channels",
            """{"platform":"feishu","name":"fs","model":"m1","systemPrompt":"be brief","perUserLimits":{"rpm":5},"credentials":{"appId":"a","appSecret":"old-secret","verificationToken":"v","encryptKey":"e"}}""");
        var id = created.Json.GetProperty("id").GetString()!;

        var answer = await SendAsync(HttpMethod.Patch, "api/admin/channels/" + id,
            """{"name":"lark","apiBaseUrl":"https://open.larksuite.com","enabled":false,"systemPrompt":null,"perUserLimits":{"rpd":100},"credentials":{"appSecret":"new-secret","encryptKey":null}}""");

        Assert.Equal(200, answer.Status);
        var view = answer.Json;
        Assert.Equal("lark", view.GetProperty("name").GetString());
        Assert.Equal("m1", view.GetProperty("model").GetString());
        Assert.Equal(JsonValueKind.Null, view.GetProperty("systemPrompt").ValueKind);
        Assert.False(view.GetProperty("enabled").GetBoolean());
        Assert.Equal("https://open.larksuite.com", view.GetProperty("apiBaseUrl").GetString());
        Assert.Equal(5, view.GetProperty("perUserLimits").GetProperty("rpm").GetInt64());
        Assert.Equal(100, view.GetProperty("perUserLimits").GetProperty("rpd").GetInt64());
        Assert.Equal(["appId", "appSecret", "verificationToken"], view.GetProperty("credentials").EnumerateArray().Select(e => e.GetString()));
        var channel = await _host.Services.GetRequiredService<ChannelStore>().GetIfExistsAsync(id, TestContext.Current.CancellationToken);
        Assert.Equal("new-secret", channel!.Credential("appSecret"));
        Assert.Equal("v", channel.Credential("verificationToken"));
        Assert.Null(channel.Credential("encryptKey"));

        var back = await SendAsync(HttpMethod.Patch, "api/admin/channels/" + id, """{"apiBaseUrl":null}""");
        Assert.Equal("https://open.feishu.cn", back.Json.GetProperty("apiBaseUrl").GetString());
    }

    [Theory]
    [InlineData("""{"credentials":{"appSecret":null}}""", "credentials.appSecret is required for feishu")]
    [InlineData("""{"credentials":{"botToken":"x"}}""", "credentials.botToken is not a feishu credential; known: appId, appSecret, verificationToken, encryptKey")]
    [InlineData("""{"platform":"slack"}""", "platform cannot be changed; create a new channel")]
    [InlineData("""{"keyId":"key_0000000000000000"}""", "keyId cannot be changed; create a new channel")]
    public async Task Patch_BadChange_400AndNothingChanges(string body, string message)
    {
        var created = await SendAsync(HttpMethod.Post, "api/admin/channels",
            """{"platform":"feishu","name":"fs","model":"m1","credentials":{"appId":"a","appSecret":"s","verificationToken":"v"}}""");
        var id = created.Json.GetProperty("id").GetString()!;

        var answer = await SendAsync(HttpMethod.Patch, "api/admin/channels/" + id, body);

        Assert.Equal(400, answer.Status);
        Assert.Equal(message, answer.ErrorMessage);
        var channel = await _host.Services.GetRequiredService<ChannelStore>().GetIfExistsAsync(id, TestContext.Current.CancellationToken);
        Assert.Equal("s", channel!.Credential("appSecret"));
    }

    [Theory]
    [InlineData("GET", "api/admin/channels/chan_0000000000000000")]
    [InlineData("PATCH", "api/admin/channels/chan_0000000000000000")]
    [InlineData("DELETE", "api/admin/channels/nonsense")]
    [InlineData("GET", "api/admin/channels/chan_0000000000000000/pending")]
    public async Task UnknownChannel_404(string method, string path)
    {
        var answer = await SendAsync(new HttpMethod(method), path, method == "PATCH" ? """{"name":"x"}""" : null);

        Assert.Equal(404, answer.Status);
        Assert.StartsWith("no channel has id '", answer.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pending_ListsNewestFirstFilteredByStateAndBounded()
    {
        var id = (await SendAsync(HttpMethod.Post, "api/admin/channels", TelegramBody("bot"))).Json.GetProperty("id").GetString()!;
        var pending = _host.Services.GetRequiredService<PendingMessages>();
        var start = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i < 4; i++)
        {
            Assert.True(await pending.TryAcceptAsync(id, Message("m/" + i), start.AddSeconds(i), ct));
        }

        await pending.MarkAsync(id, "m/1", PendingState.Answered, null, ct);

        var all = await SendAsync(HttpMethod.Get, $"api/admin/channels/{id}/pending?limit=3");
        Assert.Equal(200, all.Status);
        Assert.Equal(["m/3", "m/2", "m/1"], all.Json.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("messageKey").GetString()));
        Assert.True(all.Json.GetProperty("hasMore").GetBoolean());
        Assert.DoesNotContain("sessionWebhook", all.Body, StringComparison.OrdinalIgnoreCase);

        var answered = await SendAsync(HttpMethod.Get, $"api/admin/channels/{id}/pending?state=answered");
        var row = Assert.Single(answered.Json.GetProperty("data").EnumerateArray());
        Assert.Equal("answered", row.GetProperty("state").GetString());
        Assert.Equal("chat-1", row.GetProperty("conversationId").GetString());
        Assert.False(answered.Json.GetProperty("hasMore").GetBoolean());

        var bad = await SendAsync(HttpMethod.Get, $"api/admin/channels/{id}/pending?state=lost&limit=0");
        Assert.Equal(400, bad.Status);
        Assert.Equal("state must be one of: queued, answered, delivered, failed, expired; limit must be a whole number from 1 to 1000", bad.ErrorMessage);
    }

    private Task<RelayAnswer> SendAsync(HttpMethod method, string path, string? json = null) =>
        _host.SendAsync(method, path, json, ct: TestContext.Current.CancellationToken);

    internal static InboundMessage Message(string key, string conversation = "chat-1") => new()
    {
        MessageKey = key,
        ConversationId = conversation,
        UserId = "user-1",
        Text = "hello",
        ReplyTo = new ReplyTarget { ChatId = conversation, SessionWebhook = "https://oapi.dingtalk.com/robot/sendBySession?session=s" },
    };

    private static string TelegramBody(string name, string extra = "") =>
        $$"""{"platform":"telegram","name":"{{name}}","model":"gpt-4o-mini","credentials":{"botToken":"t","secretToken":"s"}{{extra}}}""";
}
