using System.Text.Json;
using Serverless.Relay.Limits;
using Xunit;
using Serverless.Relay.Keys;

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
        var (limits, errors) = Parse("""{"rpm": 60, "rpd": 1000, "tpm": 10000, "dailyInputTokens": 100000, "dailyOutputTokens": 5000, "monthlyInputTokens": 1000000, "monthlyOutputTokens": 9000, "dailyCostUsd": 1.5, "monthlyCostUsd": 20, "totalCostUsd": 100.000001, "maxConcurrency": 4}""");

        Assert.Empty(errors);
        Assert.Equal(11, limits!.Rules.Count);
        Assert.Equal(9000, limits.Find(LimitMetric.OutputTokens, LimitWindow.Month)!.Amount);
        Assert.Equal(new LimitRule(LimitMetric.Cost, LimitWindow.Total, 100_000_001), limits.Find(LimitMetric.Cost, LimitWindow.Total));
        Assert.Equal(1_500_000, limits.Find(LimitMetric.Cost, LimitWindow.Day)!.Amount);
        Assert.Equal(4, limits.Find(LimitMetric.Concurrency, LimitWindow.Total)!.Amount);
    }

    [Fact]
    public void Parse_BadFields_ReportsEveryProblemExactly()
    {
        var (limits, errors) = Parse("""{"rpm": 0, "dailyInputTokens": 1.5, "totalCostUsd": 0.0000001, "monthlyCostUsd": "5", "perHour": 3, "maxConcurrency": -1}""");

        Assert.Null(limits);
        Assert.Equal(
            [
                "limits.rpm must be a positive whole number of at most 1000000000000",
                "limits.dailyInputTokens must be a positive whole number of at most 1000000000000",
                "limits.totalCostUsd must be a positive number of USD of at most 1000000000, with at most 6 decimals",
                "limits.monthlyCostUsd must be a positive number of USD of at most 1000000000, with at most 6 decimals",
                "limits.perHour is not a known limit; known: rpm, rpd, tpm, dailyInputTokens, dailyOutputTokens, monthlyInputTokens, monthlyOutputTokens, dailyCostUsd, monthlyCostUsd, totalCostUsd, maxConcurrency",
                "limits.maxConcurrency must be a positive whole number of at most 1000000000000",
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
        var current = Parse("""{"rpm": 60, "dailyInputTokens": 1000, "totalCostUsd": 5}""").Limits!;
        using var patch = JsonDocument.Parse("""{"rpm": 10, "dailyInputTokens": null, "maxConcurrency": 2}""");
        var errors = new List<string>();

        var merged = current.Merge(KeyLimitsPatch.Parse(patch.RootElement, errors)!);

        Assert.Equal("""{"rpm":10,"totalCostUsd":5,"maxConcurrency":2}""", merged.ToJson());
    }

    [Fact]
    public void Merge_NullPatch_RemovesEveryLimit()
    {
        var current = Parse("""{"rpm": 60}""").Limits!;
        using var patch = JsonDocument.Parse("null");

        Assert.True(current.Merge(KeyLimitsPatch.Parse(patch.RootElement, [])!).IsEmpty);
    }

    [Fact]
    public void FromJson_WhatToJsonWrote_RoundTrips()
    {
        var limits = Parse("""{"dailyCostUsd": 0.25, "tpm": 500}""").Limits!;

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
    [InlineData(3599, "59m59s")]
    [InlineData(3600, "1h0m0s")]
    [InlineData(7322, "2h2m2s")]
    public void Duration_Span_OpenAIStyle(double seconds, string expected)
    {
        // Twice: the second answer under an hour comes from the texts made the first time.
        Assert.Equal(expected, LimitHeaders.Duration(TimeSpan.FromSeconds(seconds)));
        Assert.Equal(expected, LimitHeaders.Duration(TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public void Write_AnthropicResetTimes_EachLeaseGetsItsOwn()
    {
        var rule = new LimitRule(LimitMetric.Requests, LimitWindow.Minute, 50);
        var now = new DateTimeOffset(2026, 12, 5, 17, 30, 10, TimeSpan.Zero);

        string Reset(DateTimeOffset resetsAt)
        {
            var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
            var lease = new KeyLease([], null, null, [new LimitStatus(rule, 7, resetsAt)]);
            LimitHeaders.Write(context.Response, Serverless.Relay.Formats.WireFormat.Anthropic, lease, now);
            Assert.Equal("50", context.Response.Headers["anthropic-ratelimit-requests-limit"]);
            Assert.Equal("7", context.Response.Headers["anthropic-ratelimit-requests-remaining"]);
            return context.Response.Headers["anthropic-ratelimit-requests-reset"].ToString();
        }

        Assert.Equal("2026-12-05T17:31:00Z", Reset(now.AddSeconds(50)));
        Assert.Equal("2026-12-05T17:31:00Z", Reset(now.AddSeconds(50)));
        Assert.Equal("2026-12-05T17:32:00Z", Reset(now.AddSeconds(110)));
        Assert.Equal("2026-12-06T00:00:00Z", Reset(new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero)));
    }
}
