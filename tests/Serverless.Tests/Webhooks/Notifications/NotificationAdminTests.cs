using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Tests.Infrastructure;
using Serverless.Webhooks.Notifications;
using Xunit;

namespace Serverless.Tests.Webhooks.Notifications;

/// <summary><c>/api/admin/notifications</c> through the running handler against Azurite: validation, views, secrets at rest.</summary>
public sealed class NotificationAdminTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private RelayHost _host = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _host = await RelayHost.StartAsync(azurite);

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    /// <summary>Each type with settings whose secret parts contain "secret"; the host the view shows.</summary>
    public static TheoryData<string, string, string> Types => new()
    {
        { "telegram", """{"botToken":"123:tg-secret-token","chatId":"-100secret42"}""", "api.telegram.org" },
        { "slack", """{"url":"https://hooks.slack.com/services/T0/B0/slack-secret-path"}""", "hooks.slack.com" },
        { "feishu", """{"url":"https://open.feishu.cn/open-apis/bot/v2/hook/feishu-secret-hook","secret":"feishu-secret-sign"}""", "open.feishu.cn" },
        { "dingtalk", """{"url":"https://oapi.dingtalk.com/robot/send?access_token=ding-secret-token","secret":"SECding-secret-sign"}""", "oapi.dingtalk.com" },
        { "wecom", """{"url":"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-secret-key"}""", "qyapi.weixin.qq.com" },
        { "webhook", """{"url":"https://ops.example.com/hooks/relay-secret-path","secret":"webhook-secret-0123456789"}""", "ops.example.com" },
    };

    [Theory]
    [MemberData(nameof(Types))]
    public async Task Create_EachType_201ShowsHostOnlyAndStoresNoSettingInClear(string type, string settings, string host)
    {
        var body = JsonDocument.Parse(settings).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.GetString());
        body["type"] = type;
        body["name"] = "ops";

        var answer = await _host.SendAsync(HttpMethod.Post, "api/admin/notifications", JsonSerializer.Serialize(body), ct: Ct);

        Assert.Equal(201, answer.Status);
        var view = answer.Json;
        var id = view.GetProperty("id").GetString()!;
        Assert.StartsWith("ntf_", id, StringComparison.Ordinal);
        Assert.Equal("/api/admin/notifications/" + id, answer.Response.Headers.Location?.OriginalString);
        Assert.Equal((type, "ops", host, true), (view.GetProperty("type").GetString(), view.GetProperty("name").GetString(), view.GetProperty("host").GetString(), view.GetProperty("enabled").GetBoolean()));
        Assert.Equal(["account", "quota"], view.GetProperty("events").EnumerateArray().Select(e => e.GetString()));

        var listed = (await _host.SendAsync(HttpMethod.Get, "api/admin/notifications", ct: Ct)).Body;
        var got = (await _host.SendAsync(HttpMethod.Get, "api/admin/notifications/" + id, ct: Ct)).Body;
        var raw = await _host.Table(NotificationStore.Table).GetEntityAsync<TableEntity>("target", id, cancellationToken: Ct);
        var stored = string.Join("\n", raw.Value.Select(p => p.Value?.ToString()));
        Assert.Contains(id, listed, StringComparison.Ordinal);
        foreach (var secret in new[] { "secret", "-100" })
        {
            Assert.DoesNotContain(secret, answer.Body, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, listed, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, got, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, stored, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Create_ManyBadFields_EveryErrorInOneAnswer()
    {
        var answer = await _host.SendAsync(HttpMethod.Post, "api/admin/notifications",
            """{"type":"webhook","events":["account","nope"],"url":"http://example.com/x","secret":"short","botToken":"x","enabled":"yes"}""", ct: Ct);

        Assert.Equal(400, answer.Status);
        Assert.Equal(
            "name is required; " +
            "events must be a non-empty array of: account, quota; " +
            "enabled must be a boolean; " +
            "url must be an absolute https URL without credentials or fragment (http only for a loopback host); " +
            "secret must be at least 16 characters for webhook; " +
            "botToken is not a webhook setting; webhook takes: url, secret",
            answer.ErrorMessage);
        Assert.Equal("name", answer.Json.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("""{"name":"n"}""", "type is required")]
    [InlineData("""{"type":"sms","name":"n"}""", "type must be one of: telegram, slack, feishu, dingtalk, wecom, webhook")]
    [InlineData("""{"type":"telegram","name":"n","botToken":"1:x"}""", "chatId is required for telegram")]
    [InlineData("""{"type":"slack","name":"n","url":"https://user:pw@hooks.slack.com/x"}""", "url must be an absolute https URL without credentials or fragment (http only for a loopback host)")]
    [InlineData("""{"type":"wecom","name":"n","url":"https://q.example/x","secret":"s"}""", "secret is not a wecom setting; wecom takes: url")]
    [InlineData("""{"type":"feishu","name":"n","url":"https://f.example/x","events":[]}""", "events must be a non-empty array of: account, quota")]
    public async Task Create_BadBody_400WithTheMessage(string body, string message)
    {
        var answer = await _host.SendAsync(HttpMethod.Post, "api/admin/notifications", body, ct: Ct);

        Assert.Equal(400, answer.Status);
        Assert.Equal(message, answer.ErrorMessage);
    }

    [Fact]
    public async Task Patch_EventsNameAndSettings_ChangedTypeKeptAndRequiredCannotBeRemoved()
    {
        var id = await NotificationKit.CreateTargetAsync(_host, new { type = "feishu", name = "a", url = "https://open.feishu.cn/hook/1", secret = "s1" });

        var patched = await _host.SendAsync(HttpMethod.Patch, "api/admin/notifications/" + id, """{"name":"b","events":["quota"],"enabled":false,"secret":null,"url":"https://open.larksuite.com/hook/2"}""", ct: Ct);
        var removeUrl = await _host.SendAsync(HttpMethod.Patch, "api/admin/notifications/" + id, """{"url":null}""", ct: Ct);
        var changeType = await _host.SendAsync(HttpMethod.Patch, "api/admin/notifications/" + id, """{"type":"slack"}""", ct: Ct);

        Assert.Equal(200, patched.Status);
        var view = patched.Json;
        Assert.Equal(("feishu", "b", "open.larksuite.com", false), (view.GetProperty("type").GetString(), view.GetProperty("name").GetString(), view.GetProperty("host").GetString(), view.GetProperty("enabled").GetBoolean()));
        Assert.Equal(["quota"], view.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal((400, "url is required for feishu"), (removeUrl.Status, removeUrl.ErrorMessage));
        Assert.Equal((400, "type cannot be changed; create a new target"), (changeType.Status, changeType.ErrorMessage));
        var target = await _host.Services.GetService<NotificationStore>()!.GetIfExistsAsync(id, Ct);
        Assert.False(target!.Settings.ContainsKey("secret"));
        Assert.Equal("https://open.larksuite.com/hook/2", target.Settings["url"]);
    }

    [Fact]
    public async Task Delete_Target_GoneAfterAndUnknownIdsAre404()
    {
        var id = await NotificationKit.CreateTargetAsync(_host, new { type = "slack", name = "a", url = "https://hooks.slack.com/x" });

        var deleted = await _host.SendAsync(HttpMethod.Delete, "api/admin/notifications/" + id, ct: Ct);
        var again = await _host.SendAsync(HttpMethod.Delete, "api/admin/notifications/" + id, ct: Ct);
        var get = await _host.SendAsync(HttpMethod.Get, "api/admin/notifications/" + id, ct: Ct);
        var test = await _host.SendAsync(HttpMethod.Post, "api/admin/notifications/" + id + "/test", "{}", ct: Ct);
        var malformed = await _host.SendAsync(HttpMethod.Get, "api/admin/notifications/nope", ct: Ct);

        Assert.Equal(204, deleted.Status);
        Assert.Equal([404, 404, 404, 404], new[] { again.Status, get.Status, test.Status, malformed.Status });
        Assert.Equal($"no notification target has id '{id}'", get.ErrorMessage);
    }
}
