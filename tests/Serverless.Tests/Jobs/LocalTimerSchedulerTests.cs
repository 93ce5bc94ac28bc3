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

    [Fact]
    public async Task ExecuteAsync_SixFieldSchedule_FiresOnEachOccurrenceOfTheFakeClock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 3, TimeSpan.Zero));
        var timer = new CountingTimer();
        var schedule = LocalTimerScheduler.ParseSchedule("*/10 * * * * *", new ConfigurationBuilder().Build());
        using var scheduler = new LocalTimerScheduler([new TimerRegistration("Tick", schedule)], [timer], time, NullLogger<LocalTimerScheduler>.Instance);
        await scheduler.StartAsync(TestContext.Current.CancellationToken);

        time.Advance(TimeSpan.FromSeconds(6));
        await AssertEventuallyAsync(() => time.GetUtcNow() >= new DateTimeOffset(2025, 1, 1, 0, 0, 9, TimeSpan.Zero));
        Assert.Empty(timer.Runs);
        time.Advance(TimeSpan.FromSeconds(1));
        await timer.Ran.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        timer.Ran = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await AssertEventuallyAsync(() => time.GetUtcNow() > DateTimeOffset.MinValue); // let the loop re-arm
        time.Advance(TimeSpan.FromSeconds(10));
        await timer.Ran.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await scheduler.StopAsync(TestContext.Current.CancellationToken);

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
    public async Task LocalMode_RefreshTokensFunctionJson_IsScheduledByTheHandler()
    {
        await using var host = await RelayHost.StartAsync(azurite);

        Assert.Single(host.Services.GetServices<IHostedService>().OfType<LocalTimerScheduler>());
        var registration = Assert.Single(host.Services.GetRequiredService<IReadOnlyList<TimerRegistration>>());
        Assert.Equal("RefreshTokens", registration.FunctionName);
        Assert.Equal(new DateTime(2025, 1, 1, 0, 5, 0), registration.Schedule.GetNextOccurrence(new DateTime(2025, 1, 1, 0, 1, 0)));
    }

    private static async Task AssertEventuallyAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }

        await Task.Delay(50, timeout.Token);
    }
}
