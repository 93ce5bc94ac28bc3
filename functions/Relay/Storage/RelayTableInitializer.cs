using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Serverless.Relay.Storage;

/// <summary>
/// Creates every relay table once at start-up, in the background, so a table exists before its first reader looks
/// for it (a usage report, a quota read, a test polling the usage table) and not only after its first write.
/// NOTE: start-up does not wait for it: the Functions host polls <c>GET /</c> until the handler answers, and a storage
/// round trip per table (or an unreachable account) must not hold that answer up. So creation begins only once the
/// server listens (<see cref="StartedAsync"/>) and runs off the start-up path. Writers do not race it: creation
/// goes through <see cref="RelayTables"/>, which runs one shared creation per table, so a writer that comes first
/// awaits the same task. A failure is logged and left to <see cref="RelayTables"/>, which retries on first use.
/// </summary>
internal sealed partial class RelayTableInitializer(RelayTables tables, ILogger<RelayTableInitializer> logger) : IHostedLifecycleService, IDisposable
{
    /// <summary>Every table a feature of the relay reads or writes.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        RelayTables.ClientKeys, RelayTables.Accounts, RelayTables.Usage, RelayTables.ModelGroups,
        RelayTables.Sessions, RelayTables.Counters, RelayTables.UsageTotals, RelayTables.Pricing, RelayTables.Audit,
    ];

    private readonly CancellationTokenSource _stopping = new();
    private Task<bool> _ready = Task.FromResult(false);

    /// <summary>Completes when the start-up creation has ended: true if every table exists, false if some failed.</summary>
    public Task<bool> Ready => _ready;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called once every hosted service has started, the web server included: begins the creation.</summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _ready = Task.Run(() => CreateAllAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await ((Task)_ready).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose() => _stopping.Dispose();

    private async Task<bool> CreateAllAsync(CancellationToken cancellationToken)
    {
        var creations = Names.Select(name => CreateAsync(name, cancellationToken)).ToArray();
        var created = await Task.WhenAll(creations);
        return created.All(ok => ok);
    }

    private async Task<bool> CreateAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            await tables.GetAsync(name, cancellationToken);
            return true;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception e)
        {
            // Expected when storage is unreachable at start; the first use of the table tries again.
            Log.CreationFailed(logger, tables.NameOf(name), e);
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Table {Table} could not be created at start-up; it will be created on first use")]
        public static partial void CreationFailed(ILogger logger, string table, Exception exception);
    }
}
