using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Serverless.Relay.Canonical;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.Storage;

namespace Serverless.Bench.Scale;

/// <summary>One point of the model: how many instances, how many keys in use, how fast each instance serves.</summary>
internal sealed record Scenario(int Instances, int ActiveKeys, double RatePerInstance);

/// <summary>What one scenario cost in storage operations per second, measured (limiter) and counted (usage, totals).</summary>
internal sealed record ScenarioResult(
    Scenario Scenario,
    double CounterOpsPerSecond,
    double BusiestCounterPartitionPerSecond,
    double UsageTransactionsPerSecond,
    double UsageEntitiesPerSecond,
    double TotalsOpsPerSecond,
    double Refused);

/// <summary>
/// Runs <see cref="Scenario.Instances"/> real <see cref="KeyLimiter"/>s (each its own instance name and leases) on
/// one simulated clock against Azurite through the real <see cref="TableCounterStore"/>: every request of every
/// instance acquires, completes and releases its lease, and every instance flushes every
/// <see cref="LimitOptions.FlushInterval"/>, as in production. Storage requests are counted as the SDK sends them.
/// The usage writer's batches are counted by replaying its rule (one linger window of each instance per batch, one
/// transaction per partition of ≤ 100 rows; one read and one write per hourly total row touched in each
/// <see cref="UsageWriterOptions.TotalsInterval"/>), not by writing rows.
/// </summary>
internal sealed class Simulation(string connectionString, StorageOperations operations)
{
    /// <summary>The usage writer's default <c>BatchLinger</c>: under light load a batch holds what arrives in this window.</summary>
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(50);

    private static readonly Usage Answer = new() { InputTokens = 30, OutputTokens = 10 };
    private const long CostMicros = 40;

    private static readonly ChatRequest Request = new()
    {
        Model = "m",
        Messages = [new ChatMessage(ChatRole.User, [new TextPart("What is the capital of France? Answer in one word.")])],
    };

    public async Task<ScenarioResult> RunAsync(Scenario scenario, TimeSpan warmUp, TimeSpan measured)
    {
        var prefix = "s" + Guid.NewGuid().ToString("N")[..10];
        operations.Prefix = prefix;
        // NOTE: one process plays every instance, so its connections are not capped as one instance's would be.
        using var tables = new RelayTables(
            Options.Create(new RelayStorageOptions { ConnectionString = connectionString, TablePrefix = prefix }),
            Options.Create(new StorageTransportOptions { MaxConnections = 1000 }),
            NullLogger<RelayTables>.Instance);
        var clock = new SimulatedClock(new DateTimeOffset(2026, 12, 3, 0, 0, 0, TimeSpan.Zero));
        var limitOptions = new LimitOptions();
        var estimator = new Lazy<TokenEstimator>(() => new TokenEstimator());
        var store = new TableCounterStore(tables, NullLogger<TableCounterStore>.Instance);
        var limiters = Enumerable.Range(0, scenario.Instances)
            .Select(_ => new KeyLimiter(store, clock, Options.Create(limitOptions), estimator, NullLogger<KeyLimiter>.Instance))
            .ToArray();

        // Every key's traffic is spread over every instance (the front end balances requests, not keys): the worst
        // case for shared counters. Limits have 4x headroom over the key's real rate, so nothing is refused and the
        // syncs counted are the cost of enforcing, not of refusing.
        var perKeyPerSecond = scenario.Instances * scenario.RatePerInstance / scenario.ActiveKeys;
        var rpm = (long)Math.Ceiling(perKeyPerSecond * 60 * 4) + 1;
        var limits = KeyLimits.FromJson($$"""{"rpm": {{rpm}}, "tpm": {{rpm * 100}}, "dailyCostUsd": {{Math.Ceiling(perKeyPerSecond * 86_400 * 4 * CostMicros / 1e6) + 1}}, "maxConcurrency": 1000}""");
        var keys = Enumerable.Range(0, scenario.ActiveKeys)
            .Select(i => new ClientKey { Id = $"key_{i:x16}", Name = "sim", CreatedAt = clock.Now, Hint = "sk-relay-…", Limits = limits })
            .ToArray();

        var random = new Random(42);
        var owed = new double[scenario.Instances];
        var perWindow = scenario.RatePerInstance * Window.TotalSeconds;
        var sinceFlush = TimeSpan.Zero;
        var totalsInterval = new UsageWriterOptions().TotalsInterval;
        var sinceTotals = TimeSpan.Zero;
        var touched = Enumerable.Range(0, scenario.Instances).Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToArray();
        long usageTransactions = 0, usageEntities = 0, totalsOps = 0, refused = 0;
        var windows = (int)((warmUp + measured) / Window);
        var firstMeasured = (int)(warmUp / Window);
        for (var w = 0; w < windows; w++)
        {
            if (w == firstMeasured)
            {
                operations.Reset();
                usageTransactions = usageEntities = totalsOps = refused = 0;
            }

            for (var i = 0; i < limiters.Length; i++)
            {
                owed[i] += perWindow;
                var batch = new Dictionary<string, int>(StringComparer.Ordinal);
                for (; owed[i] >= 1; owed[i]--)
                {
                    var key = keys[random.Next(keys.Length)];
                    using var lease = await limiters[i].AcquireAsync(key, Request, CancellationToken.None);
                    if (!lease.IsAcquired)
                    {
                        refused++;
                        continue;
                    }

                    lease.Complete(Answer, CostMicros);
                    batch[key.Id] = batch.GetValueOrDefault(key.Id) + 1;
                }

                // The usage writer's rule: rows grouped by partition (the key), ≤ 100 per transaction; each hourly total
                // row touched (one per key here: one model, one account) is read and written once per totals interval.
                foreach (var (keyId, rows) in batch)
                {
                    usageTransactions += (rows + UsageWriter.MaxBatchSize - 1) / UsageWriter.MaxBatchSize;
                    usageEntities += rows;
                    touched[i].Add(keyId);
                }

                if (totalsInterval == TimeSpan.Zero)
                {
                    totalsOps += 2L * touched[i].Count;
                    touched[i].Clear();
                }
            }

            clock.Advance(Window);
            sinceTotals += Window;
            if (totalsInterval > TimeSpan.Zero && sinceTotals >= totalsInterval)
            {
                sinceTotals = TimeSpan.Zero;
                foreach (var keysTouched in touched)
                {
                    totalsOps += 2L * keysTouched.Count;
                    keysTouched.Clear();
                }
            }
            sinceFlush += Window;
            if (sinceFlush >= limitOptions.FlushInterval)
            {
                sinceFlush = TimeSpan.Zero;
                foreach (var limiter in limiters)
                {
                    await limiter.FlushAsync(CancellationToken.None);
                }
            }
        }

        var seconds = measured.TotalSeconds;
        var counters = operations.Snapshot().Where(o => o.Key.Table == RelayTables.Counters).Sum(o => o.Value);
        return new ScenarioResult(
            scenario,
            counters / seconds,
            operations.BusiestPartition(RelayTables.Counters) / seconds,
            usageTransactions / seconds,
            usageEntities / seconds,
            totalsOps / seconds,
            refused);
    }
}
