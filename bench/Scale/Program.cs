using System.Globalization;
using Serverless.Bench.Scale;
using Serverless.Relay.Accounts;
using Serverless.Relay.Keys;
using Serverless.Relay.Pricing;

// bench/SCALE.md's table: storage operations per second of N instances sharing one storage account.
//   dotnet run -c Release --project bench/Scale [-- --instances "1 4 16 64" --keys "10 100" --rate 50 --seconds 20]
// Counters are measured (real limiters against Azurite); usage rows and hourly totals are counted by the usage writer's
// rule; sessions and caches are computed from their TTLs. Each figure says which.
var instances = Ints(Arg("--instances", "1 4 16 64"));
var keyCounts = Ints(Arg("--keys", "10 100"));
var rate = double.Parse(Arg("--rate", "50"), CultureInfo.InvariantCulture);
var measured = TimeSpan.FromSeconds(double.Parse(Arg("--seconds", "20"), CultureInfo.InvariantCulture));
var warmUp = TimeSpan.FromSeconds(6);

var root = FindRoot(AppContext.BaseDirectory);
await using var azurite = await Azurite.StartAsync(root);
using var operations = new StorageOperations();
var simulation = new Simulation(azurite.ConnectionString, operations);

Console.WriteLine($"Storage operations per second, {rate:0} requests/s per instance, {measured.TotalSeconds:0} simulated s measured after {warmUp.TotalSeconds:0} s, {DateTime.UtcNow:yyyy-MM-dd}");
Console.WriteLine();
Console.WriteLine("| instances | active keys | requests/s | counters (measured) | busiest counter partition | usage transactions | audit transactions | usage entities | hourly totals (one partition) | session reads | key, account, price reads | total ops/s | of 20,000 |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
foreach (var keys in keyCounts)
{
    foreach (var count in instances)
    {
        var scenario = new Scenario(count, keys, rate);
        var result = await simulation.RunAsync(scenario, warmUp, measured);
        var requests = count * rate;

        // A conversation's turns land on any instance, so the 2 s local session cache rarely hits once there are
        // several: one read per request is the model's (pessimistic) figure; binding writes are rarer (new
        // conversations, a TTL slide at most every tenth of the TTL) and left out.
        var sessionReads = requests;
        var cacheReads = count * (keys / ClientKeyAuthenticator.PositiveTtl.TotalSeconds + 1 / AccountDirectory.Ttl.TotalSeconds + 1 / PriceBook.Ttl.TotalSeconds);
        // Each request's audit row goes to the audit table partitioned like its usage row (by key), in the same batch:
        // one audit transaction per usage transaction (a full audit adds one blob write per request, not counted here).
        var auditTransactions = result.UsageTransactionsPerSecond;
        var total = result.CounterOpsPerSecond + result.UsageTransactionsPerSecond + auditTransactions + result.TotalsOpsPerSecond + sessionReads + cacheReads;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {count} | {keys} | {requests:0} | {result.CounterOpsPerSecond:0} | {result.BusiestCounterPartitionPerSecond:0} | {result.UsageTransactionsPerSecond:0} | {auditTransactions:0} | {result.UsageEntitiesPerSecond:0} | {result.TotalsOpsPerSecond:0} | {sessionReads:0} | {cacheReads:0} | {total:0} | {total / 20_000:P0} |"));
        if (result.Refused > 0)
        {
            Console.WriteLine($"<!-- {result.Refused} requests refused: the limits' headroom is too small for this scenario -->");
        }
    }
}

string Arg(string name, string fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}

static int[] Ints(string list) => [.. list.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];

static string FindRoot(string from)
{
    for (var dir = new DirectoryInfo(from); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("run from inside the repository");
}
