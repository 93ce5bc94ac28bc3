using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using OpenTelemetry.Trace;
using Serverless.Handler.Telemetry;
using Xunit;

namespace Serverless.Tests.Telemetry;

public sealed class TracesPerSecondSamplerTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void ShouldSample_AfterAQuietSpell_GrantsOneSecondsWorthThenDrops()
    {
        var sampler = new TracesPerSecondSampler(5, _clock);

        var decisions = Enumerable.Range(0, 8).Select(_ => Sample(sampler)).ToArray();

        Assert.Equal(5, decisions.Count(d => d == SamplingDecision.RecordAndSample));
        Assert.All(decisions[5..], d => Assert.Equal(SamplingDecision.Drop, d));
    }

    [Fact]
    public void ShouldSample_UnderSteadyLoad_GrantsTheRateAndNoMore()
    {
        var sampler = new TracesPerSecondSampler(10, _clock);
        DrainBurst(sampler);

        // Ten seconds of 1,000 requests a second: ten traces a second get through.
        var granted = 0;
        for (var i = 0; i < 10_000; i++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(1));
            granted += Sample(sampler) == SamplingDecision.RecordAndSample ? 1 : 0;
        }

        Assert.InRange(granted, 99, 101);
    }

    [Fact]
    public void ShouldSample_ALongIdle_DoesNotBankMoreThanOneSecond()
    {
        var sampler = new TracesPerSecondSampler(3, _clock);
        DrainBurst(sampler);

        _clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(3, Enumerable.Range(0, 10).Count(_ => Sample(sampler) == SamplingDecision.RecordAndSample));
    }

    [Fact]
    public void ShouldSample_Zero_NeverSamplesARoot()
    {
        var sampler = new TracesPerSecondSampler(0, _clock);

        _clock.Advance(TimeSpan.FromDays(1));

        Assert.All(Enumerable.Range(0, 100).Select(_ => Sample(sampler)), d => Assert.Equal(SamplingDecision.Drop, d));
    }

    [Fact]
    public void ShouldSample_ManyThreadsAtOnce_GrantExactlyTheBurst()
    {
        var sampler = new TracesPerSecondSampler(50, _clock);
        var granted = 0;

        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            for (var i = 0; i < 1_000; i++)
            {
                if (Sample(sampler) == SamplingDecision.RecordAndSample)
                {
                    Interlocked.Increment(ref granted);
                }
            }
        });

        Assert.Equal(50, granted);
    }

    [Fact]
    public void Constructor_NegativeRate_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TracesPerSecondSampler(-1, _clock));
    }

    private static void DrainBurst(TracesPerSecondSampler sampler)
    {
        while (Sample(sampler) == SamplingDecision.RecordAndSample)
        {
        }
    }

    private static SamplingDecision Sample(Sampler sampler) =>
        sampler.ShouldSample(new SamplingParameters(default, ActivityTraceId.CreateRandom(), "chat m", ActivityKind.Server)).Decision;
}
