using Serverless.Tests.Admin;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Limits;

/// <summary><c>limits</c> on <c>POST|PATCH /api/admin/keys</c> and <c>GET /api/admin/keys/{id}/quota</c>.</summary>
public sealed class KeyLimitsAdminTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private readonly ManualTimeProvider _time = new();
    private RelayHost _host = null!;

    public async ValueTask InitializeAsync() =>
        _host = await RelayHost.StartAsync(azurite, StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("limits")), _time).WaitAsync(Timeout);

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private Task<RelayAnswer> SendAsync(HttpMethod method, string path, string? json = null) =>
        _host.SendAsync(method, path, json, ct: TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);

    [Fact]
    public async Task CreateKey_WithLimits_StoredAndShown()
    {
        var created = await SendAsync(HttpMethod.Post, "api/admin/keys", """{"name": "limited", "limits": {"rpm": 60, "monthlyCostUsd": 12.5, "maxConcurrency": 2}}""");

        Assert.Equal(201, created.Status);
        Assert.Equal("""{"rpm":60,"monthlyCostUsd":12.5,"maxConcurrency":2}""", created.Json.GetProperty("limits").GetRawText());
        var read = await SendAsync(HttpMethod.Get, "api/admin/keys/" + created.Json.GetProperty("id").GetString());
        Assert.Equal("""{"rpm":60,"monthlyCostUsd":12.5,"maxConcurrency":2}""", read.Json.GetProperty("limits").GetRawText());
    }

    [Fact]
    public async Task CreateKey_NoLimits_EmptyObject()
    {
        var created = await SendAsync(HttpMethod.Post, "api/admin/keys", """{"name": "free"}""");

        Assert.Equal("{}", created.Json.GetProperty("limits").GetRawText());
    }

    [Fact]
    public async Task CreateKey_InvalidLimits_400ListingEveryProblem()
    {
        var answer = await SendAsync(HttpMethod.Post, "api/admin/keys", """{"name": "x", "limits": {"rpm": -1, "totalCostUsd": "ten"}}""");

        Assert.Equal(400, answer.Status);
        Assert.Equal("limits", answer.ErrorParam);
        Assert.Equal(
            "limits.rpm must be a positive whole number of at most 1000000000000; limits.totalCostUsd must be a positive number of USD of at most 1000000000, with at most 6 decimals",
            answer.ErrorMessage);
    }

    [Fact]
    public async Task CreateKey_Role_DefaultsToUserOnlyUserOrAdmin()
    {
        var plain = await SendAsync(HttpMethod.Post, "api/admin/keys", """{"name": "u"}""");
        var admin = await SendAsync(HttpMethod.Post, "api/admin/keys", """{"name": "a", "role": "admin"}""");
        var wrong = await SendAsync(HttpMethod.Post, "api/admin/keys", """{"name": "r", "role": "root"}""");

        Assert.Equal("user", plain.Json.GetProperty("role").GetString());
        Assert.Equal("admin", admin.Json.GetProperty("role").GetString());
        Assert.Equal(400, wrong.Status);
        Assert.Equal("role must be 'user' or 'admin'", wrong.ErrorMessage);
    }

    [Fact]
    public async Task UpdateKey_LimitsPatch_MergesPerField()
    {
        var created = await SendAsync(HttpMethod.Post, "api/admin/keys", """{"name": "k", "limits": {"rpm": 60, "dailyInputTokens": 1000}}""");
        var id = created.Json.GetProperty("id").GetString();

        var patched = await SendAsync(HttpMethod.Patch, "api/admin/keys/" + id, """{"limits": {"dailyInputTokens": null, "totalCostUsd": 3}}""");

        Assert.Equal(200, patched.Status);
        Assert.Equal("""{"rpm":60,"totalCostUsd":3}""", patched.Json.GetProperty("limits").GetRawText());
        var cleared = await SendAsync(HttpMethod.Patch, "api/admin/keys/" + id, """{"limits": null}""");
        Assert.Equal("{}", cleared.Json.GetProperty("limits").GetRawText());
    }

    [Fact]
    public async Task GetQuota_FreshKey_EveryLimitWithNothingUsed()
    {
        var created = await SendAsync(HttpMethod.Post, "api/admin/keys", """{"name": "k", "limits": {"rpm": 60, "totalCostUsd": 2.5, "maxConcurrency": 3}}""");
        var id = created.Json.GetProperty("id").GetString();

        var quota = await SendAsync(HttpMethod.Get, $"api/admin/keys/{id}/quota");

        Assert.Equal(200, quota.Status);
        Assert.Equal(
            """[{"limit":"rpm","metric":"requests","window":"minute","unit":"requests","amount":60,"used":0,"remaining":60,"resetsAt":"2030-01-01T00:01:00+00:00"},{"limit":"totalCostUsd","metric":"cost","window":"total","unit":"USD","amount":2.5,"used":0,"remaining":2.5,"resetsAt":null},{"limit":"maxConcurrency","metric":"concurrency","window":"total","unit":"concurrency","amount":3,"inFlightOrReserved":0,"resetsAt":null}]""",
            quota.Json.GetProperty("usage").GetRawText());
    }

    [Theory]
    [InlineData("api/admin/usage?from=2030-01-02&to=2030-01-01", "from must not be after to")]
    [InlineData("api/admin/usage?from=2028-12-31&to=2030-01-01", "at most 366 days at once")]
    [InlineData("api/admin/usage?from=yesterday&to=2030-1-1", "to must be a date as yyyy-MM-dd; from must be a date as yyyy-MM-dd")]
    [InlineData("api/admin/usage?keyId=alice", "keyId 'alice' is not a key id")]
    [InlineData("api/admin/usage?groupBy=region", "groupBy must be one of key, owner, model, account, day, hour")]
    public async Task GetUsage_BadQuery_400(string path, string message)
    {
        var answer = await SendAsync(HttpMethod.Get, path);

        Assert.Equal(400, answer.Status);
        Assert.Equal(message, answer.ErrorMessage);
    }

    [Fact]
    public async Task GetUsage_NothingRecorded_DefaultLast30DaysEmpty()
    {
        var answer = await SendAsync(HttpMethod.Get, "api/admin/usage");

        Assert.Equal(200, answer.Status);
        Assert.Equal(
            """{"object":"usage","from":"2029-12-03","to":"2030-01-01","groupBy":"key","keyId":null,"data":[],"total":{"requests":0,"errors":0,"inputTokens":0,"outputTokens":0,"cacheReadTokens":0,"cacheWriteTokens":0,"reasoningTokens":0,"costUsd":0,"unpricedRequests":0,"latencyMs":{"p50":null,"p95":null,"p99":null},"timeToFirstByteMs":{"p50":null,"p95":null,"p99":null}}}""",
            answer.Body);
    }

    [Theory]
    [InlineData("GET", "api/admin/keys/key_0000000000000000/quota", 404, "no key has id 'key_0000000000000000'")]
    [InlineData("POST", "api/admin/keys/key_0000000000000000/quota", 405, "POST is not allowed on /api/admin/keys/key_0000000000000000/quota; allowed: GET")]
    [InlineData("POST", "api/admin/pricing", 405, "POST is not allowed on /api/admin/pricing; allowed: GET, PUT, DELETE")]
    public async Task Routes_WrongIdOrMethod_Refused(string method, string path, int status, string message)
    {
        var answer = await SendAsync(new HttpMethod(method), path, method == "GET" ? null : "{}");

        Assert.Equal(status, answer.Status);
        Assert.Equal(message, answer.ErrorMessage);
    }
}
