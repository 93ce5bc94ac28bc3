using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Pricing;

/// <summary>
/// The price table in force: the one an admin put (<c>{prefix}pricing</c>, one row), else <see cref="DefaultPrices"/>.
/// Cached for <see cref="Ttl"/>; a change made through this instance applies at once, on others within the TTL.
/// Never throws on the request path: when storage fails or does not answer within the hot-path deadline, the last
/// table read (or the default) stays in force for another TTL.
/// </summary>
internal sealed partial class PriceBook(RelayTables tables, HotPathStorage hotPath, TimeProvider time, ILogger<PriceBook> logger)
{
    public static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FirstReadRetry = TimeSpan.FromSeconds(1);
    private const string PartitionKey = "pricing";
    private const string RowKey = "current";

    private volatile Cached? _cached;
    private readonly RefreshAhead _ahead = new();
    private readonly SharedReads<string, PriceTable> _reads = new(StringComparer.Ordinal);

    /// <summary>The current table; synchronous while the cache is fresh, and read again in the background before it expires.</summary>
    public ValueTask<PriceTable> GetAsync(CancellationToken cancellationToken)
    {
        var cached = _cached;
        var now = time.GetUtcNow();
        if (cached is null || now >= cached.ExpiresAt)
        {
            // Requests that find the table expired together share one read (SharedReads says why).
            return new ValueTask<PriceTable>(_reads.ReadAsync(RowKey, _ => LoadAsync(cached, CancellationToken.None), cancellationToken));
        }

        // A failed read keeps the table in force, as on the request path.
        if (!cached.NeverRead && _ahead.TryStart(now.UtcTicks, RefreshAhead.Due(cached.ExpiresAt.UtcTicks, Ttl.Ticks)))
        {
            _ = _ahead.RunAsync(() => LoadAsync(cached, CancellationToken.None), e => Log.LoadFailed(logger, e));
        }

        return new ValueTask<PriceTable>(cached.Table);
    }

    /// <summary>Replaces the table for every instance.</summary>
    public async Task PutAsync(PriceTable table, CancellationToken cancellationToken)
    {
        var client = await tables.GetAsync(RelayTables.Pricing, cancellationToken).ConfigureAwait(false);
        var stored = table with { IsDefault = false };
        await client.UpsertEntityAsync(new TableEntity(PartitionKey, RowKey) { ["Json"] = stored.ToJson() }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
        _cached = new Cached(stored, time.GetUtcNow() + Ttl);
    }

    /// <summary>Goes back to the built-in table.</summary>
    public async Task ResetAsync(CancellationToken cancellationToken)
    {
        var client = await tables.GetAsync(RelayTables.Pricing, cancellationToken).ConfigureAwait(false);
        await client.DeleteEntityAsync(PartitionKey, RowKey, Azure.ETag.All, cancellationToken).ConfigureAwait(false);
        _cached = new Cached(DefaultPrices.Table, time.GetUtcNow() + Ttl);
    }

    private async Task<PriceTable> LoadAsync(Cached? previous, CancellationToken cancellationToken)
    {
        // NOTE: until this instance has read the table once, the read is decisive (longer deadline, asked even during
        // a storage back-off) and a failure is retried within seconds: the default table in force for a whole TTL
        // prices an operator's models at nothing, and budgets then admit everything (seen under a burst, issue 11).
        PriceTable table;
        var failed = false;
        try
        {
            var read = await hotPath.ReadAsync("the price table", ReadRowAsync, cancellationToken, decisive: previous is null || previous.NeverRead).ConfigureAwait(false);
            failed = read.Failed;
            table = read.Failed ? previous?.Table ?? DefaultPrices.Table
                : read.Value is { } json ? Parse(json) : DefaultPrices.Table;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.LoadFailed(logger, e);
            failed = true;
            table = previous?.Table ?? DefaultPrices.Table;
        }

        var neverRead = failed && (previous is null || previous.NeverRead);
        _cached = new Cached(table, time.GetUtcNow() + (neverRead ? FirstReadRetry : Ttl), neverRead);
        return table;
    }

    /// <summary>The stored table's JSON, or null when none is stored.</summary>
    private async Task<string?> ReadRowAsync(CancellationToken cancellationToken)
    {
        var client = await tables.GetAsync(RelayTables.Pricing, cancellationToken).ConfigureAwait(false);
        var row = await client.GetEntityIfExistsAsync<TableEntity>(PartitionKey, RowKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value!.GetString("Json") ?? "{}" : null;
    }

    private static PriceTable Parse(string? json)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json ?? "{}");
        var errors = new List<string>();
        return PriceTable.Parse(document.RootElement, errors) ?? throw new InvalidDataException("the stored price table is invalid: " + string.Join("; ", errors));
    }

    /// <param name="NeverRead">No read of storage has succeeded yet: <see cref="Table"/> is a stand-in, retried soon.</param>
    private sealed record Cached(PriceTable Table, DateTimeOffset ExpiresAt, bool NeverRead = false);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1520, Level = LogLevel.Warning, Message = "Reading the price table failed; the previous one stays in force")]
        public static partial void LoadFailed(ILogger logger, Exception exception);
    }
}
