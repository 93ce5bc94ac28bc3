using System.Text.Json;
using Serverless.Relay.Limits;
using Xunit;

namespace Serverless.Tests.Limits;

public sealed class KeyLimitsTests
{
    private static (KeyLimits? Limits, List<string> Errors) Parse(string json)
    {
        var errors = new List<string>();
        using var document = JsonDocument.Parse(json);
        return (KeyLimits.Parse(document.RootElement, errors), errors);
    }

    [Fact]
    public void Parse_EveryField_ReadsCountsAndUsdAsMicros()
    {
        var (limits, errors) = Parse("""{"requestsPerMinute": 60, "requestsPerDay": 1000, "requestsPerMonth": 9000, "tokensPerMinute": 10000, "tokensPerDay": 100000, "tokensPerMonth": 1000000, "costPerDay": 1.5, "costPerMonth": 20, "budget": 100.000001, "maxConcurrent": 4}""");

        Assert.Empty(errors);
        Assert.Equal(10, limits!.Rules.Count);
        Assert.Equal(new LimitRule(LimitMetric.Cost, LimitWindow.Total, 100_000_001), limits.Find(LimitMetric.Cost, LimitWindow.Total));
        Assert.Equal(1_500_000, limits.Find(LimitMetric.Cost, LimitWindow.Day)!.Amount);
        Assert.Equal(4, limits.Find(LimitMetric.Concurrency, LimitWindow.Total)!.Amount);
    }

    [Fact]
    public void Parse_BadFields_ReportsEveryProblemExactly()
    {
        var (limits, errors) = Parse("""{"requestsPerMinute": 0, "tokensPerDay": 1.5, "budget": 0.0000001, "costPerMonth": "5", "perHour": 3, "maxConcurrent": -1}""");

        Assert.Null(limits);
        Assert.Equal(
            [
                "limits.requestsPerMinute must be a positive whole number of at most 1000000000000",
                "limits.tokensPerDay must be a positive whole number of at most 1000000000000",
                "limits.budget must be a positive number of USD of at most 1000000000, with at most 6 decimals",
                "limits.costPerMonth must be a positive number of USD of at most 1000000000, with at most 6 decimals",
                "limits.perHour is not a known limit; known: requestsPerMinute, requestsPerDay, requestsPerMonth, tokensPerMinute, tokensPerDay, tokensPerMonth, costPerDay, costPerMonth, budget, maxConcurrent",
                "limits.maxConcurrent must be a positive whole number of at most 1000000000000",
            ],
            errors);
    }

    [Theory]
    [InlineData("[]", "limits must be an object")]
    [InlineData("5", "limits must be an object")]
    public void Parse_NotAnObject_Refused(string json, string message)
    {
        var (limits, errors) = Parse(json);

        Assert.Null(limits);
        Assert.Equal([message], errors);
    }

    [Fact]
    public void Merge_Patch_SetsAndRemovesNamedFieldsKeepsOthers()
    {
        var current = Parse("""{"requestsPerMinute": 60, "tokensPerDay": 1000, "budget": 5}""").Limits!;
        using var patch = JsonDocument.Parse("""{"requestsPerMinute": 10, "tokensPerDay": null, "maxConcurrent": 2}""");
        var errors = new List<string>();

        var merged = current.Merge(KeyLimitsPatch.Parse(patch.RootElement, errors)!);

        Assert.Equal("""{"requestsPerMinute":10,"budget":5,"maxConcurrent":2}""", merged.ToJson());
    }

    [Fact]
    public void Merge_NullPatch_RemovesEveryLimit()
    {
        var current = Parse("""{"requestsPerMinute": 60}""").Limits!;
        using var patch = JsonDocument.Parse("null");

        Assert.True(current.Merge(KeyLimitsPatch.Parse(patch.RootElement, [])!).IsEmpty);
    }

    [Fact]
    public void FromJson_WhatToJsonWrote_RoundTrips()
    {
        var limits = Parse("""{"costPerDay": 0.25, "tokensPerMinute": 500}""").Limits!;

        Assert.Equal(limits.Rules, KeyLimits.FromJson(limits.ToJson()).Rules);
    }

    [Theory]
    [InlineData("Minute", "2030-01-31T23:59:30Z", "203001312359", "2030-02-01T00:00:00Z")]
    [InlineData("Day", "2030-01-31T23:59:30Z", "20300131", "2030-02-01T00:00:00Z")]
    [InlineData("Month", "2030-12-15T10:00:00+05:00", "203012", "2031-01-01T00:00:00Z")]
    [InlineData("Total", "2030-12-15T10:00:00Z", "total", null)]
    public void PeriodOf_Moment_FixedUtcWindow(string window, string now, string period, string? resetsAt)
    {
        var (start, reset) = LimitWindows.PeriodOf(Enum.Parse<LimitWindow>(window), DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(period, LimitWindows.PeriodName(Enum.Parse<LimitWindow>(window), start));
        Assert.Equal(resetsAt is null ? null : DateTimeOffset.Parse(resetsAt, System.Globalization.CultureInfo.InvariantCulture), reset);
    }

    [Theory]
    [InlineData(0.12, "120ms")]
    [InlineData(17, "17s")]
    [InlineData(16.2, "17s")]
    [InlineData(360, "6m0s")]
    [InlineData(7322, "2h2m2s")]
    public void Duration_Span_OpenAIStyle(double seconds, string expected) =>
        Assert.Equal(expected, LimitHeaders.Duration(TimeSpan.FromSeconds(seconds)));
}
