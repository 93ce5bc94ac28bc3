using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Pricing;
using Serverless.Tests.Admin;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Pricing;

public sealed class PriceTableTests
{
    [Theory]
    [InlineData("gpt-4o", "gpt-4o*", 2.50)]
    [InlineData("gpt-4o-mini-2024-07-18", "gpt-4o-mini*", 0.15)]
    [InlineData("GPT-4O-2024-08-06", "gpt-4o*", 2.50)]
    [InlineData("gpt-5.4-mini", "gpt-5.4-mini*", 0.75)]
    [InlineData("claude-sonnet-4-5-20250929", "claude-sonnet-4*", 3.00)]
    [InlineData("claude-opus-4-5-20251101", "claude-opus-4-5*", 5.00)]
    [InlineData("gemini-2.5-flash-lite", "gemini-2.5-flash-lite*", 0.10)]
    public void Find_DefaultTable_LongestMatchingPatternWins(string model, string pattern, double input)
    {
        var price = DefaultPrices.Table.Find(model)!;

        Assert.Equal(pattern, price.Model);
        Assert.Equal((decimal)input, price.Input);
    }

    [Fact]
    public void Find_UnknownModel_Null() => Assert.Null(DefaultPrices.Table.Find("llama-test"));

    [Fact]
    public void CostMicros_EveryKindOfToken_PricedSeparately()
    {
        var price = new ModelPrice("claude-x", Input: 3m, Output: 15m, CacheRead: 0.3m, CacheWrite: 3.75m);
        var usage = new Usage { InputTokens = 21, CacheReadTokens = 5, CacheWriteTokens = 3, OutputTokens = 7 };

        // 21×3 + 5×0.3 + 3×3.75 + 7×15 = 63 + 1.5 + 11.25 + 105 micro-USD
        Assert.Equal(180.75m, price.CostMicros(usage));
    }

    [Fact]
    public void CostMicros_NoCachePrices_CacheTokensAtInputPrice() =>
        Assert.Equal(10m * 2 + 5m * 2, new ModelPrice("m", 2m, 1m).CostMicros(new Usage { InputTokens = 10, CacheReadTokens = 5 }));

    [Fact]
    public void CostMicros_NeitherModelPriced_Null() =>
        Assert.Null(DefaultPrices.Table.CostMicros("x-up", "x-req", new Usage { InputTokens = 1 }));

    [Fact]
    public void Parse_Invalid_ReportsEveryProblemExactly()
    {
        using var document = JsonDocument.Parse("""{"prices": [{"model": "a", "input": -1, "output": 1}, {"model": "A", "input": 1}, 5, {"input": 1, "output": 1, "cacheRead": "x"}]}""");
        var errors = new List<string>();

        Assert.Null(PriceTable.Parse(document.RootElement, errors));
        Assert.Equal(
            [
                "prices[0].input must be a number of USD per 1M tokens from 0 to 100000",
                "prices[1].model 'A' appears twice",
                "prices[1].output is required",
                "prices[2] must be an object",
                "prices[3].model must be a non-empty string of at most 200 characters",
                "prices[3].cacheRead must be a number of USD per 1M tokens from 0 to 100000",
            ],
            errors);
    }
}

/// <summary><c>GET|PUT|DELETE /admin/pricing</c>.</summary>
public sealed class PricingAdminTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private AdminHost _host = null!;

    public async ValueTask InitializeAsync() =>
        _host = await AdminHost.StartAsync(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("pricing")), new ManualTimeProvider(), TestContext.Current.CancellationToken).WaitAsync(Timeout);

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private Task<Answer> SendAsync(HttpMethod method, string path, string? json = null) =>
        _host.SendAsync(method, path, json, ct: TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);

    [Fact]
    public async Task Get_NothingPut_TheDatedDefaultTable()
    {
        var answer = await SendAsync(HttpMethod.Get, "admin/pricing");

        Assert.Equal(200, answer.Status);
        Assert.True(answer.Json.GetProperty("default").GetBoolean());
        Assert.Contains(DefaultPrices.AsOf, answer.Json.GetProperty("source").GetString(), StringComparison.Ordinal);
        Assert.Equal(DefaultPrices.Table.Prices.Count, answer.Json.GetProperty("prices").GetArrayLength());
    }

    [Fact]
    public async Task Put_ValidTable_ReplacesItUntilDeleted()
    {
        var put = await SendAsync(HttpMethod.Put, "admin/pricing", """{"source": "contract 2030", "prices": [{"model": "gpt-test", "input": 1, "output": 2.5, "cacheRead": 0.1}]}""");

        Assert.Equal(200, put.Status);
        Assert.Equal(
            """{"object":"pricing","currency":"USD","unit":"per 1M tokens","default":false,"source":"contract 2030","prices":[{"model":"gpt-test","input":1,"output":2.5,"cacheRead":0.1,"cacheWrite":null}]}""",
            put.Body);
        Assert.Equal(put.Body, (await SendAsync(HttpMethod.Get, "admin/pricing")).Body);

        var reset = await SendAsync(HttpMethod.Delete, "admin/pricing");
        Assert.Equal(200, reset.Status);
        Assert.True((await SendAsync(HttpMethod.Get, "admin/pricing")).Json.GetProperty("default").GetBoolean());
    }

    [Fact]
    public async Task Put_Invalid_400AndTableUnchanged()
    {
        var answer = await SendAsync(HttpMethod.Put, "admin/pricing", """{"prices": [{"model": "m", "output": 1}]}""");

        Assert.Equal(400, answer.Status);
        Assert.Equal("prices[0].input is required", answer.ErrorMessage);
        Assert.True((await SendAsync(HttpMethod.Get, "admin/pricing")).Json.GetProperty("default").GetBoolean());
    }
}
