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
    [InlineData("claude-opus-4-6", "claude-opus-4-6*", 5.00)]
    [InlineData("claude-opus-4-1-20250805", "claude-opus-4*", 15.00)]
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

    private static readonly ModelPrice Tiered = new("m", Input: 2m, Output: 8m, CacheRead: 0.2m, CacheWrite: 2.5m)
    {
        Tiers = [new(1_000, Input: 4m, Output: 12m, CacheRead: 0.4m), new(5_000, Input: 6m, Output: 16m, CacheRead: 0.6m, CacheWrite: 7m)],
    };

    [Theory]
    // Total input 600 + 300 + 100 = 1000 is not above 1000: base prices. 600×2 + 300×0.2 + 100×2.5 + 50×8
    [InlineData(600, 300, 100, 50, 1_910)]
    // 601 + 300 + 100 = 1001: first tier, its cache write falling back to its input. 601×4 + 300×0.4 + 100×4 + 50×12
    [InlineData(601, 300, 100, 50, 3_524)]
    // Cache reads count toward the threshold: 10 + 1000 = 1010. 10×4 + 1000×0.4
    [InlineData(10, 1_000, 0, 0, 440)]
    // Above both thresholds the higher tier wins: 6000×6 + 10×7 + 10×16
    [InlineData(6_000, 0, 10, 10, 36_230)]
    public void CostMicros_Tiers_ChosenByTotalInputAndApplyToEveryToken(long input, long cacheRead, long cacheWrite, long output, double expected)
    {
        var usage = new Usage { InputTokens = input, CacheReadTokens = cacheRead, CacheWriteTokens = cacheWrite, OutputTokens = output };

        Assert.Equal((decimal)expected, Tiered.CostMicros(usage));
    }

    [Theory]
    // 150000×6 + 50001×0.6 + 1000×22.5: Sonnet 4.5 above 200k input (cached tokens included) takes long-context rates
    [InlineData("claude-sonnet-4-5-20250929", 150_000, 50_001, 952_500.6)]
    // 150000×3 + 50000×0.3 + 1000×15: exactly 200k is not above it
    [InlineData("claude-sonnet-4-5-20250929", 150_000, 50_000, 480_000)]
    // 150000×3 + 50001×0.3 + 1000×15: Sonnet 4.6 has no long-context tier
    [InlineData("claude-sonnet-4-6", 150_000, 50_001, 480_000.3)]
    // 250000×2.5 + 1000×15
    [InlineData("gemini-2.5-pro", 250_000, 0, 640_000)]
    // 150000×1.25 + 1000×10
    [InlineData("gemini-2.5-pro", 150_000, 0, 197_500)]
    public void CostMicros_DefaultTable_LongPromptTiers(string model, long input, long cacheRead, double expected) =>
        Assert.Equal((decimal)expected, DefaultPrices.Table.CostMicros(model, model, new Usage { InputTokens = input, CacheReadTokens = cacheRead, OutputTokens = 1_000 }));

    [Fact]
    public void Parse_Tiers_Kept()
    {
        using var document = JsonDocument.Parse("""{"prices": [{"model": "m", "input": 1, "output": 2, "tiers": [{"aboveInputTokens": 200000, "input": 2, "output": 3, "cacheRead": 0.2}]}, {"model": "n", "input": 1, "output": 2, "tiers": null}]}""");
        var errors = new List<string>();

        var table = PriceTable.Parse(document.RootElement, errors)!;

        Assert.Empty(errors);
        Assert.Equal([new PriceTier(200_000, 2m, 3m, 0.2m)], table.Prices[0].Tiers);
        Assert.Empty(table.Prices[1].Tiers);
    }

    [Fact]
    public void Parse_InvalidTiers_ReportsEveryProblemExactly()
    {
        using var document = JsonDocument.Parse("""
            {"prices": [
              {"model": "a", "input": 1, "output": 1, "tiers": {}},
              {"model": "b", "input": 1, "output": 1, "tiers": [{"aboveInputTokens": 0, "input": 1, "output": 1}, 3, {"aboveInputTokens": 1.5, "output": -2}]},
              {"model": "c", "input": 1, "output": 1, "tiers": [{"aboveInputTokens": 1000, "input": 1, "output": 1}, {"aboveInputTokens": 1000, "input": 1, "output": 1, "cacheWrite": "x"}]}
            ]}
            """);
        var errors = new List<string>();

        Assert.Null(PriceTable.Parse(document.RootElement, errors));
        Assert.Equal(
            [
                "prices[0].tiers must be an array of at most 10 {aboveInputTokens, input, output, cacheRead?, cacheWrite?}",
                "prices[1].tiers[0].aboveInputTokens must be a positive integer",
                "prices[1].tiers[1] must be an object",
                "prices[1].tiers[2].aboveInputTokens must be a positive integer",
                "prices[1].tiers[2].input is required",
                "prices[1].tiers[2].output must be a number of USD per 1M tokens from 0 to 100000",
                "prices[2].tiers[1].aboveInputTokens must be greater than the previous tier's (1000)",
                "prices[2].tiers[1].cacheWrite must be a number of USD per 1M tokens from 0 to 100000",
            ],
            errors);
    }

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

/// <summary><c>GET|PUT|DELETE /api/admin/pricing</c>.</summary>
public sealed class PricingAdminTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = StorageTestKit.Timeout;
    private RelayHost _host = null!;

    public async ValueTask InitializeAsync() =>
        _host = await RelayHost.StartAsync(azurite, StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("pricing")), new ManualTimeProvider()).WaitAsync(Timeout);

    public ValueTask DisposeAsync() => _host.DisposeAsync();

    private Task<RelayAnswer> SendAsync(HttpMethod method, string path, string? json = null) =>
        _host.SendAsync(method, path, json, ct: TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);

    [Fact]
    public async Task Get_NothingPut_TheDatedDefaultTable()
    {
        var answer = await SendAsync(HttpMethod.Get, "api/admin/pricing");

        Assert.Equal(200, answer.Status);
        Assert.True(answer.Json.GetProperty("default").GetBoolean());
        Assert.Contains(DefaultPrices.AsOf, answer.Json.GetProperty("source").GetString(), StringComparison.Ordinal);
        Assert.Equal(DefaultPrices.Table.Prices.Count, answer.Json.GetProperty("prices").GetArrayLength());
    }

    [Fact]
    public async Task Put_ValidTable_ReplacesItUntilDeleted()
    {
        var put = await SendAsync(HttpMethod.Put, "api/admin/pricing", """{"source": "contract 2030", "prices": [{"model": "gpt-test", "input": 1, "output": 2.5, "cacheRead": 0.1}]}""");

        Assert.Equal(200, put.Status);
        Assert.Equal(
            """{"object":"pricing","currency":"USD","unit":"per 1M tokens","default":false,"source":"contract 2030","prices":[{"model":"gpt-test","input":1,"output":2.5,"cacheRead":0.1,"cacheWrite":null,"tiers":[]}]}""",
            put.Body);
        Assert.Equal(put.Body, (await SendAsync(HttpMethod.Get, "api/admin/pricing")).Body);

        var reset = await SendAsync(HttpMethod.Delete, "api/admin/pricing");
        Assert.Equal(200, reset.Status);
        Assert.True((await SendAsync(HttpMethod.Get, "api/admin/pricing")).Json.GetProperty("default").GetBoolean());
    }

    [Fact]
    public async Task Put_Tiers_ShownByGetAndUsedForCost()
    {
        var put = await SendAsync(HttpMethod.Put, "api/admin/pricing", """{"prices": [{"model": "gem-test", "input": 1.25, "output": 10, "tiers": [{"aboveInputTokens": 200000, "input": 2.5, "output": 15, "cacheRead": 0.625}]}]}""");

        Assert.Equal(200, put.Status);
        Assert.Equal(
            """{"object":"pricing","currency":"USD","unit":"per 1M tokens","default":false,"source":null,"prices":[{"model":"gem-test","input":1.25,"output":10,"cacheRead":null,"cacheWrite":null,"tiers":[{"aboveInputTokens":200000,"input":2.5,"output":15,"cacheRead":0.625,"cacheWrite":null}]}]}""",
            put.Body);
        Assert.Equal(put.Body, (await SendAsync(HttpMethod.Get, "api/admin/pricing")).Body);

        // What was stored parses back to the same prices: 200001×2.5 + 10×15 micro-USD.
        var errors = new List<string>();
        var stored = PriceTable.Parse(JsonDocument.Parse(put.Body).RootElement, errors)!;
        Assert.Equal(500_152.5m, stored.CostMicros("gem-test", "gem-test", new Usage { InputTokens = 200_001, OutputTokens = 10 }));
    }

    [Fact]
    public async Task Put_InvalidTier_400NamingTheField()
    {
        var answer = await SendAsync(HttpMethod.Put, "api/admin/pricing", """{"prices": [{"model": "m", "input": 1, "output": 1}, {"model": "n", "input": 1, "output": 1}, {"model": "o", "input": 1, "output": 1, "tiers": [{"aboveInputTokens": -5, "input": 1, "output": 1}]}]}""");

        Assert.Equal(400, answer.Status);
        Assert.Equal("prices[2].tiers[0].aboveInputTokens must be a positive integer", answer.ErrorMessage);
        Assert.True((await SendAsync(HttpMethod.Get, "api/admin/pricing")).Json.GetProperty("default").GetBoolean());
    }

    [Fact]
    public async Task Put_Invalid_400AndTableUnchanged()
    {
        var answer = await SendAsync(HttpMethod.Put, "api/admin/pricing", """{"prices": [{"model": "m", "output": 1}]}""");

        Assert.Equal(400, answer.Status);
        Assert.Equal("prices[0].input is required", answer.ErrorMessage);
        Assert.True((await SendAsync(HttpMethod.Get, "api/admin/pricing")).Json.GetProperty("default").GetBoolean());
    }
}
