using System.Threading.Channels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Serverless.Handler.FunctionsHost;
using Serverless.Relay.Functions;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Jobs;

public sealed class LocalTimerSchedulerTests(AzuriteFixture azurite)
{
    private sealed class CountingTimer : ITimerFunction
    {
        public List<TimerInfo> Runs { get; } = [];

        public TaskCompletionSource Ran { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "Tick";

        public Task RunAsync(TimerInfo timer, CancellationToken cancellationToken)
        {
            lock (Runs)
            {
                Runs.Add(timer);
            }

            Ran.TrySetResult();
            return Task.CompletedTask;
        }
    }

    /// <summary>A fake clock that reports each timer armed on it, so a test advances time only once the scheduler waits.</summary>
    private sealed class ArmingTimeProvider(FakeTimeProvider fake) : TimeProvider
    {
        private readonly Channel<TimeSpan> _armed = Channel.CreateUnbounded<TimeSpan>();

        public override DateTimeOffset GetUtcNow() => fake.GetUtcNow();

        public override long GetTimestamp() => fake.GetTimestamp();

        public override long TimestampFrequency => fake.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => fake.LocalTimeZone;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = fake.CreateTimer(callback, state, dueTime, period);
            _armed.Writer.TryWrite(dueTime); // after the fake holds the timer: an Advance from now on reaches it
            return timer;
        }

        public void Advance(TimeSpan by) => fake.Advance(by);

        /// <summary>The due time of the next timer the code under test arms.</summary>
        public async Task<TimeSpan> NextArmedAsync() =>
            await _armed.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task ExecuteAsync_SixFieldSchedule_FiresOnEachOccurrenceOfTheFakeClock()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ArmingTimeProvider(new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 3, TimeSpan.Zero)));
        var timer = new CountingTimer();
        var schedule = LocalTimerScheduler.ParseSchedule("*/10 * * * * *", new ConfigurationBuilder().Build());
        using var scheduler = new LocalTimerScheduler([new TimerRegistration("Tick", schedule)], [timer], time, NullLogger<LocalTimerScheduler>.Instance);
        await scheduler.StartAsync(ct);

        Assert.Equal(TimeSpan.FromSeconds(7), await time.NextArmedAsync()); // 00:03 -> 00:10
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Empty(timer.Runs); // 00:09: not due; a due timer of the fake fires inside Advance
        time.Advance(TimeSpan.FromSeconds(1));
        await timer.Ran.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
        timer.Ran = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Assert.Equal(TimeSpan.FromSeconds(10), await time.NextArmedAsync()); // the loop re-armed: 00:10 -> 00:20
        time.Advance(TimeSpan.FromSeconds(10));
        await timer.Ran.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
        await scheduler.StopAsync(ct);

        Assert.Equal(2, timer.Runs.Count);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 20, TimeSpan.Zero), timer.Runs[0].Next);
        Assert.Equal(new DateTimeOffset(2025, 1, 1, 0, 0, 10, TimeSpan.Zero), timer.Runs[1].Last);
    }

    [Theory]
    [InlineData("*/5 * * * *", "'*/5 * * * *' is not a six-field NCRONTAB expression (second minute hour day month day-of-week)")]
    [InlineData("%MissingSetting%", "the schedule setting 'MissingSetting' is not set")]
    public void ParseSchedule_Invalid_FailsWithExactMessage(string schedule, string message)
    {
        var error = Assert.Throws<FunctionCatalogException>(() => LocalTimerScheduler.ParseSchedule(schedule, new ConfigurationBuilder().Build()));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void ParseSchedule_SettingReference_ReadsTheSetting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["RefreshSchedule"] = "0 0 * * * *" }).Build();

        var schedule = LocalTimerScheduler.ParseSchedule("%RefreshSchedule%", configuration);

        Assert.Equal(new DateTime(2025, 1, 1, 1, 0, 0), schedule.GetNextOccurrence(new DateTime(2025, 1, 1, 0, 10, 0)));
    }

    [Fact]
    public async Task LocalMode_JobsFunctionJson_AreScheduledByTheHandler()
    {
        await using var host = await RelayHost.StartAsync(azurite);

        Assert.Single(host.Services.GetServices<IHostedService>().OfType<LocalTimerScheduler>());
        var registrations = host.Services.GetRequiredService<IReadOnlyList<TimerRegistration>>().OrderBy(r => r.FunctionName, StringComparer.Ordinal).ToArray();
        Assert.Equal(["PurgePending", "RefreshTokens", "Retention"], registrations.Select(r => r.FunctionName));
        var from = new DateTime(2025, 1, 1, 0, 1, 30);
        Assert.Equal(new DateTime(2025, 1, 1, 0, 2, 0), registrations[0].Schedule.GetNextOccurrence(from));
        Assert.Equal(new DateTime(2025, 1, 1, 0, 5, 0), registrations[1].Schedule.GetNextOccurrence(from));
        Assert.Equal(new DateTime(2025, 1, 1, 3, 30, 0), registrations[2].Schedule.GetNextOccurrence(from));
    }
}
