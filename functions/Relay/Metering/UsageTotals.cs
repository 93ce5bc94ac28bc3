using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Metering;

/// <summary>One key's usage over one UTC day, summed.</summary>
internal sealed record UsageTotal
{
    public required string KeyId { get; init; }

    public required DateOnly Date { get; init; }

    public long Requests { get; init; }

    /// <summary>Requests answered with a status of 400 or more (refusals included).</summary>
    public long Errors { get; init; }

    public long InputTokens { get; init; }

    public long OutputTokens { get; init; }

    public long CacheReadTokens { get; init; }

    public long CacheWriteTokens { get; init; }

    public long ReasoningTokens { get; init; }

    public decimal CostUsd { get; init; }

    /// <summary>Requests that used tokens of a model without a price: their cost is missing from <see cref="CostUsd"/>.</summary>
    public long UnpricedRequests { get; init; }

    public UsageTotal Plus(UsageTotal other) => this with
    {
        Requests = Requests + other.Requests,
        Errors = Errors + other.Errors,
        InputTokens = InputTokens + other.InputTokens,
        OutputTokens = OutputTokens + other.OutputTokens,
        CacheReadTokens = CacheReadTokens + other.CacheReadTokens,
        CacheWriteTokens = CacheWriteTokens + other.CacheWriteTokens,
        ReasoningTokens = ReasoningTokens + other.ReasoningTokens,
        CostUsd = CostUsd + other.CostUsd,
        UnpricedRequests = UnpricedRequests + other.UnpricedRequests,
    };

    public static UsageTotal Of(UsageRecord record) => new()
    {
        KeyId = record.KeyId,
        Date = DateOnly.FromDateTime(record.Timestamp.UtcDateTime),
        Requests = 1,
        Errors = record.Status >= 400 ? 1 : 0,
        InputTokens = record.Usage.InputTokens,
        OutputTokens = record.Usage.OutputTokens,
        CacheReadTokens = record.Usage.CacheReadTokens,
        CacheWriteTokens = record.Usage.CacheWriteTokens,
        ReasoningTokens = record.Usage.ReasoningTokens,
        CostUsd = record.CostUsd ?? 0,
        UnpricedRequests = record.Unpriced ? 1 : 0,
    };
}

/// <summary>
/// <c>{prefix}usagetotals</c>: PK = key id, RK = <c>day-yyyyMMdd</c>, one row per key and UTC day, kept by the usage
/// writer as it writes request rows (so reading usage never scans request rows). Each batch is summed in memory
/// first, then added to each row with an ETag-conditional read-modify-write, retried when another instance wrote.
/// NOTE: a write whose outcome is unknown (a timeout after the service applied it) and is retried counts twice; the
/// request rows stay the record of truth.
/// </summary>
internal sealed class UsageTotals(RelayTables tables)
{
    private const string DayPrefix = "day-";
    private const int MaxAttempts = 20;

    public static string RowKeyOf(DateOnly date) => DayPrefix + date.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    /// <summary>Sums <paramref name="records"/> per key and day and adds each sum to its row.</summary>
    public async Task AddAsync(IEnumerable<UsageRecord> records, CancellationToken cancellationToken)
    {
        var sums = new Dictionary<(string, DateOnly), UsageTotal>();
        foreach (var record in records)
        {
            var total = UsageTotal.Of(record);
            sums[(total.KeyId, total.Date)] = sums.TryGetValue((total.KeyId, total.Date), out var sum) ? sum.Plus(total) : total;
        }

        var table = await tables.GetAsync(RelayTables.UsageTotals, cancellationToken).ConfigureAwait(false);
        foreach (var sum in sums.Values)
        {
            await AddAsync(table, sum, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Rows of one key (or every key) between two UTC days, both included.</summary>
    public async Task<IReadOnlyList<UsageTotal>> ReadAsync(string? keyId, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.UsageTotals, cancellationToken).ConfigureAwait(false);
        var filter = keyId is null
            ? TableClient.CreateQueryFilter($"RowKey ge {RowKeyOf(from)} and RowKey le {RowKeyOf(to)}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {keyId} and RowKey ge {RowKeyOf(from)} and RowKey le {RowKeyOf(to)}");
        var rows = new List<UsageTotal>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            rows.Add(FromEntity(entity));
        }

        rows.Sort((a, b) => a.Date != b.Date ? a.Date.CompareTo(b.Date) : string.CompareOrdinal(a.KeyId, b.KeyId));
        return rows;
    }

    private static async Task AddAsync(TableClient table, UsageTotal sum, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var current = await table.GetEntityIfExistsAsync<TableEntity>(sum.KeyId, RowKeyOf(sum.Date), cancellationToken: cancellationToken).ConfigureAwait(false);
            try
            {
                if (current.HasValue)
                {
                    var entity = ToEntity(FromEntity(current.Value!).Plus(sum));
                    await table.UpdateEntityAsync(entity, current.Value!.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await table.AddEntityAsync(ToEntity(sum), cancellationToken).ConfigureAwait(false);
                }

                return;
            }
            catch (RequestFailedException e) when (e.Status is 409 or 412 && attempt < MaxAttempts)
            {
                // Another instance added its batch first: read again and add ours on top.
            }
        }
    }

    private static TableEntity ToEntity(UsageTotal total) => new(total.KeyId, RowKeyOf(total.Date))
    {
        ["Requests"] = total.Requests,
        ["Errors"] = total.Errors,
        ["InputTokens"] = total.InputTokens,
        ["OutputTokens"] = total.OutputTokens,
        ["CacheReadTokens"] = total.CacheReadTokens,
        ["CacheWriteTokens"] = total.CacheWriteTokens,
        ["ReasoningTokens"] = total.ReasoningTokens,
        // NOTE: Table storage has no decimal type; the string keeps sums exact.
        ["CostUsd"] = total.CostUsd.ToString(CultureInfo.InvariantCulture),
        ["UnpricedRequests"] = total.UnpricedRequests,
    };

    private static UsageTotal FromEntity(TableEntity entity) => new()
    {
        KeyId = entity.PartitionKey,
        Date = DateOnly.ParseExact(entity.RowKey.AsSpan(DayPrefix.Length), "yyyyMMdd", CultureInfo.InvariantCulture),
        Requests = entity.GetInt64("Requests") ?? 0,
        Errors = entity.GetInt64("Errors") ?? 0,
        InputTokens = entity.GetInt64("InputTokens") ?? 0,
        OutputTokens = entity.GetInt64("OutputTokens") ?? 0,
        CacheReadTokens = entity.GetInt64("CacheReadTokens") ?? 0,
        CacheWriteTokens = entity.GetInt64("CacheWriteTokens") ?? 0,
        ReasoningTokens = entity.GetInt64("ReasoningTokens") ?? 0,
        CostUsd = decimal.Parse(entity.GetString("CostUsd") ?? "0", CultureInfo.InvariantCulture),
        UnpricedRequests = entity.GetInt64("UnpricedRequests") ?? 0,
    };
}
