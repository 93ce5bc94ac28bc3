using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Metering;

/// <summary>
/// Latencies as counts in log-spaced buckets (bucket i holds values up to 1.25^i ms), so totals from many rows merge
/// by addition and still give percentiles, to within one bucket (±12.5%).
/// </summary>
internal sealed class LatencyHistogram
{
    public const int Buckets = 64; // 1.25^63 ms ≈ 21 minutes
    private const double Growth = 1.25;
    private readonly long[] _counts = new long[Buckets];

    public long Count => _counts.Sum();

    public void Add(double milliseconds) => _counts[BucketOf(milliseconds)]++;

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < Buckets; i++)
        {
            _counts[i] += other._counts[i];
        }
    }

    /// <summary>The upper bound of the bucket holding the <paramref name="quantile"/>; null when empty.</summary>
    public double? Percentile(double quantile)
    {
        var total = Count;
        if (total == 0)
        {
            return null;
        }

        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < Buckets; i++)
        {
            seen += _counts[i];
            if (seen >= Math.Max(1, rank))
            {
                return Math.Round(Math.Pow(Growth, i), 1);
            }
        }

        return Math.Round(Math.Pow(Growth, Buckets - 1), 1);
    }

    /// <summary>Sparse text for a Table column: <c>bucket:count,…</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        for (var i = 0; i < Buckets; i++)
        {
            if (_counts[i] != 0)
            {
                text.Append(text.Length == 0 ? "" : ",").Append(i.ToString(CultureInfo.InvariantCulture)).Append(':').Append(_counts[i].ToString(CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }

    public static LatencyHistogram Parse(string? text)
    {
        var histogram = new LatencyHistogram();
        foreach (var pair in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            histogram._counts[int.Parse(pair.AsSpan(0, colon), CultureInfo.InvariantCulture)] += long.Parse(pair.AsSpan(colon + 1), CultureInfo.InvariantCulture);
        }

        return histogram;
    }

    private static int BucketOf(double milliseconds) =>
        milliseconds <= 1 ? 0 : Math.Min(Buckets - 1, (int)Math.Ceiling(Math.Log(milliseconds) / Math.Log(Growth)));
}

/// <summary>Usage summed over one UTC hour for one key, model and account (or any merge of such rows).</summary>
internal sealed record UsageTotal
{
    public required DateTimeOffset Hour { get; init; }

    public required string KeyId { get; init; }

    public string? Owner { get; init; }

    /// <summary>The model the client asked for.</summary>
    public string Model { get; init; } = "";

    /// <summary>The account that served; empty when none did (refused, no route).</summary>
    public string AccountId { get; init; } = "";

    public long Requests { get; init; }

    /// <summary>Requests answered with a status of 400 or more (refusals included).</summary>
    public long Errors { get; init; }

    public long InputTokens { get; init; }

    public long OutputTokens { get; init; }

    public long CacheReadTokens { get; init; }

    public long CacheWriteTokens { get; init; }

    public long ReasoningTokens { get; init; }

    public decimal CostUsd { get; init; }

    /// <summary>Requests that used tokens of a model without a price (metered at 0).</summary>
    public long UnpricedRequests { get; init; }

    public LatencyHistogram Latency { get; init; } = new();

    public LatencyHistogram TimeToFirstByte { get; init; } = new();

    public UsageTotal Plus(UsageTotal other)
    {
        var latency = new LatencyHistogram();
        latency.Add(Latency);
        latency.Add(other.Latency);
        var ttfb = new LatencyHistogram();
        ttfb.Add(TimeToFirstByte);
        ttfb.Add(other.TimeToFirstByte);
        return this with
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
            Latency = latency,
            TimeToFirstByte = ttfb,
        };
    }

    /// <summary>The UTC hour a record's row sums it into.</summary>
    public static DateTimeOffset HourOf(DateTimeOffset timestamp)
    {
        var utc = timestamp.UtcDateTime;
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }
}

/// <summary>
/// A <see cref="UsageTotal"/> being summed from request records, in place: one per row a batch adds to.
/// </summary>
/// <remarks>
/// NOTE: why not <see cref="UsageTotal.Plus"/> per record. Each total carries two 64-bucket histograms (1 KB), so a new
/// total per record and another per addition was a tenth of everything the relay allocated under load
/// (bench/ANALYSIS.md, "Long answers, and what the usage writer allocated").
/// </remarks>
internal sealed class UsageSum(DateTimeOffset hour, UsageRecord first)
{
    private readonly LatencyHistogram _latency = new();
    private readonly LatencyHistogram _timeToFirstByte = new();
    private long _requests;
    private long _errors;
    private long _inputTokens;
    private long _outputTokens;
    private long _cacheReadTokens;
    private long _cacheWriteTokens;
    private long _reasoningTokens;
    private decimal _costUsd;
    private long _unpricedRequests;

    public void Add(UsageRecord record)
    {
        _requests++;
        _errors += record.Status >= 400 ? 1 : 0;
        _inputTokens += record.Usage.InputTokens;
        _outputTokens += record.Usage.OutputTokens;
        _cacheReadTokens += record.Usage.CacheReadTokens;
        _cacheWriteTokens += record.Usage.CacheWriteTokens;
        _reasoningTokens += record.Usage.ReasoningTokens;
        _costUsd += record.CostUsd ?? 0;
        _unpricedRequests += record.Unpriced ? 1 : 0;
        _latency.Add(record.LatencyMs);
        if (record.TimeToFirstByteMs is { } firstByte)
        {
            _timeToFirstByte.Add(firstByte);
        }
    }

    /// <summary>The sum as a total; the sum is done with once this is taken (the total holds its histograms).</summary>
    public UsageTotal ToTotal() => new()
    {
        Hour = hour,
        KeyId = first.KeyId,
        Owner = first.Owner,
        Model = first.RequestedModel,
        AccountId = first.AccountId ?? "",
        Requests = _requests,
        Errors = _errors,
        InputTokens = _inputTokens,
        OutputTokens = _outputTokens,
        CacheReadTokens = _cacheReadTokens,
        CacheWriteTokens = _cacheWriteTokens,
        ReasoningTokens = _reasoningTokens,
        CostUsd = _costUsd,
        UnpricedRequests = _unpricedRequests,
        Latency = _latency,
        TimeToFirstByte = _timeToFirstByte,
    };
}

/// <summary>
/// <c>{prefix}usagetotals</c>: one row per UTC hour, key, model and account (PK = <c>yyyyMMddHH</c>, RK = the three
/// encoded), kept by the usage writer as it writes request rows, so usage reports never scan request rows. Each batch
/// is summed in memory first, then added to its rows with ETag-conditional read-modify-writes, retried when another
/// instance wrote in between.
/// NOTE: a write whose outcome is unknown (a timeout after the service applied it) and is retried counts twice; the
/// request rows stay the record of truth.
/// </summary>
internal sealed class UsageTotals(RelayTables tables)
{
    private const int MaxAttempts = 20;
    private const int MaxEncodedRowKey = 1024;

    public static string PartitionOf(DateTimeOffset hour) => hour.UtcDateTime.ToString("yyyyMMddHH", CultureInfo.InvariantCulture);

    /// <summary>Sums <paramref name="records"/> per hour, key, model and account and adds each sum to its row.</summary>
    public Task AddAsync(IEnumerable<UsageRecord> records, CancellationToken cancellationToken)
    {
        var sums = new Dictionary<(string, string), UsageSum>();
        Accumulate(sums, records);
        return AddAsync(new Queue<UsageTotal>(sums.Values.Select(static sum => sum.ToTotal())), cancellationToken);
    }

    /// <summary>Adds <paramref name="records"/> to the sums held in memory, one per row they will be added to.</summary>
    public static void Accumulate(Dictionary<(string, string), UsageSum> sums, IEnumerable<UsageRecord> records)
    {
        // A batch is mostly one key's requests to one model: the row's keys are encoded again only when they change.
        UsageRecord? previous = null;
        var hour = default(DateTimeOffset);
        var id = (Partition: "", Row: "");
        foreach (var record in records)
        {
            var recordHour = UsageTotal.HourOf(record.Timestamp);
            if (previous is null || recordHour != hour || record.KeyId != previous.KeyId || record.RequestedModel != previous.RequestedModel || record.AccountId != previous.AccountId)
            {
                hour = recordHour;
                id = (PartitionOf(hour), RowKeyOf(record.KeyId, record.RequestedModel, record.AccountId ?? ""));
            }

            previous = record;
            if (!sums.TryGetValue(id, out var sum))
            {
                sums[id] = sum = new UsageSum(hour, record);
            }

            sum.Add(record);
        }
    }

    /// <summary>
    /// Adds each sum to its row, taking it off <paramref name="sums"/> once it is added: a retry after a failure adds
    /// only what is left, not the sums before it a second time.
    /// </summary>
    public async Task AddAsync(Queue<UsageTotal> sums, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.UsageTotals, cancellationToken).ConfigureAwait(false);
        while (sums.TryPeek(out var sum))
        {
            await AddAsync(table, sum, cancellationToken).ConfigureAwait(false);
            sums.Dequeue();
        }
    }

    /// <summary>Every row from the hour of <paramref name="from"/> to the hour of <paramref name="to"/>, both included; optionally one key's only.</summary>
    public async Task<IReadOnlyList<UsageTotal>> ReadAsync(string? keyId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.UsageTotals, cancellationToken).ConfigureAwait(false);
        var filter = TableClient.CreateQueryFilter($"PartitionKey ge {PartitionOf(from)} and PartitionKey le {PartitionOf(to)}");
        var rows = new List<UsageTotal>();
        await foreach (var entity in table.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (keyId is null || entity.GetString("KeyId") == keyId)
            {
                rows.Add(FromEntity(entity));
            }
        }

        return rows;
    }

    private static string RowKeyOf(UsageTotal total) => RowKeyOf(total.KeyId, total.Model, total.AccountId);

    /// <summary>
    /// The names, encoded; a hash of them (marked <c>~</c>, which the encoding never writes) when the encoding would pass
    /// storage's 1 KiB row key: a model of 256 characters of CJK text is 768 bytes of UTF-8, a third more encoded.
    /// </summary>
    private static string RowKeyOf(string keyId, string model, string accountId)
    {
        var names = Encoding.UTF8.GetBytes(keyId + "\n" + model + "\n" + accountId);
        return System.Buffers.Text.Base64Url.GetEncodedLength(names.Length) <= MaxEncodedRowKey
            ? System.Buffers.Text.Base64Url.EncodeToString(names)
            : "~" + System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(names));
    }

    private static async Task AddAsync(TableClient table, UsageTotal sum, CancellationToken cancellationToken)
    {
        // A conflict means another instance added its batch first: read again and add ours on top.
        await ETagUpdate.RunAsync(table, PartitionOf(sum.Hour), RowKeyOf(sum), async (current, token) =>
        {
            var updated = current is not null ? ToEntity(FromEntity(current).Plus(sum)) : ToEntity(sum);
            await ETagUpdate.ReplaceOrAddAsync(table, current, updated, token).ConfigureAwait(false);
            return ETagWrite.Done(true);
        }, cancellationToken, MaxAttempts).ConfigureAwait(false);
    }

    private static TableEntity ToEntity(UsageTotal total) => new(PartitionOf(total.Hour), RowKeyOf(total))
    {
        ["KeyId"] = total.KeyId,
        ["Owner"] = total.Owner,
        ["Model"] = total.Model,
        ["AccountId"] = total.AccountId,
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
        ["LatencyMs"] = total.Latency.ToString(),
        ["TimeToFirstByteMs"] = total.TimeToFirstByte.ToString(),
    };

    private static UsageTotal FromEntity(TableEntity entity) => new()
    {
        Hour = DateTimeOffset.ParseExact(entity.PartitionKey, "yyyyMMddHH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
        KeyId = entity.GetString("KeyId") ?? "",
        Owner = entity.GetString("Owner"),
        Model = entity.GetString("Model") ?? "",
        AccountId = entity.GetString("AccountId") ?? "",
        Requests = entity.GetInt64("Requests") ?? 0,
        Errors = entity.GetInt64("Errors") ?? 0,
        InputTokens = entity.GetInt64("InputTokens") ?? 0,
        OutputTokens = entity.GetInt64("OutputTokens") ?? 0,
        CacheReadTokens = entity.GetInt64("CacheReadTokens") ?? 0,
        CacheWriteTokens = entity.GetInt64("CacheWriteTokens") ?? 0,
        ReasoningTokens = entity.GetInt64("ReasoningTokens") ?? 0,
        CostUsd = decimal.Parse(entity.GetString("CostUsd") ?? "0", CultureInfo.InvariantCulture),
        UnpricedRequests = entity.GetInt64("UnpricedRequests") ?? 0,
        Latency = LatencyHistogram.Parse(entity.GetString("LatencyMs")),
        TimeToFirstByte = LatencyHistogram.Parse(entity.GetString("TimeToFirstByteMs")),
    };
}
