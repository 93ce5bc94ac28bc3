using System.Collections.Concurrent;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Serverless.Relay.Storage;

/// <summary>
/// Hands out <see cref="TableClient"/>s for the relay's tables, creating each table once, on first use.
/// NOTE: creation is lazy on purpose: a Functions custom handler must answer its first request quickly, and a storage
/// round trip per table at start-up (or an unreachable account) would hold that up.
/// </summary>
internal sealed partial class RelayTables
{
    public const string ClientKeys = "clientkeys";
    public const string Accounts = "accounts";
    public const string Usage = "usage";
    public const string ModelGroups = "modelgroups";
    public const string Sessions = "sessions";
    public const string Counters = "counters";
    public const string UsageTotals = "usagetotals";
    public const string Pricing = "pricing";
    public const string Audit = "audit";

    private readonly Lazy<TableServiceClient> _service;
    private readonly string _prefix;
    private readonly ConcurrentDictionary<string, TableClient> _ready = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<TableClient>>> _creating = new(StringComparer.Ordinal);
    private readonly ILogger<RelayTables> _logger;

    public RelayTables(IOptions<RelayStorageOptions> options, ILogger<RelayTables> logger)
    {
        var value = options.Value;
        _prefix = value.TablePrefix;
        // Validated at start-up, so the settings resolve; the credential is created with the client, on first use.
        _service = new Lazy<TableServiceClient>(() =>
            (StorageConnection.Resolve(value, []) ?? throw new InvalidOperationException("storage settings were not validated")).CreateTableServiceClient());
        _logger = logger;
    }

    /// <summary>The full table name of a base name: the prefix, then the name.</summary>
    public string NameOf(string baseName) => _prefix + baseName;

    /// <summary>The client of a table, created if this instance has not yet seen it. Synchronous once created.</summary>
    public ValueTask<TableClient> GetAsync(string baseName, CancellationToken cancellationToken)
    {
        if (_ready.TryGetValue(baseName, out var client))
        {
            return new ValueTask<TableClient>(client);
        }

        return new ValueTask<TableClient>(CreateAsync(baseName, cancellationToken));
    }

    private async Task<TableClient> CreateAsync(string baseName, CancellationToken cancellationToken)
    {
        var creation = _creating.GetOrAdd(baseName, name => new Lazy<Task<TableClient>>(() => CreateOnceAsync(name)));
        try
        {
            // NOTE: the shared creation ignores the caller's token, so one cancelled request cannot fail the others.
            return await creation.Value.WaitAsync(cancellationToken);
        }
        catch (Exception) when (creation.Value.IsFaulted)
        {
            // A failed creation is not cached: the next caller tries again.
            _creating.TryRemove(new KeyValuePair<string, Lazy<Task<TableClient>>>(baseName, creation));
            throw;
        }
    }

    private async Task<TableClient> CreateOnceAsync(string baseName)
    {
        var client = _service.Value.GetTableClient(NameOf(baseName));
        await client.CreateIfNotExistsAsync(CancellationToken.None);
        _ready[baseName] = client;
        Log.TableReady(_logger, client.Name);
        return client;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1000, Level = LogLevel.Debug, Message = "Table {Table} is ready")]
        public static partial void TableReady(ILogger logger, string table);
    }
}
