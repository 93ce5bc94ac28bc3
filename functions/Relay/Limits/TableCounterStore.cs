using System.Buffers;
using System.Text.Json;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Limits;

/// <summary>
/// Counters in <c>{prefix}counters</c>: PK = key id, RK = counter name (<c>tokens-day-20261123</c>), columns
/// <c>Used</c> and <c>Leases</c> (JSON: instance → [amount, lapses at unix ms]). Every sync is a read, then an
/// ETag-conditional replace (or an insert), retried when another instance wrote in between; so two instances can
/// never both spend the same allowance.
/// </summary>
internal sealed partial class TableCounterStore(RelayTables tables, ILogger<TableCounterStore> logger) : ICounterStore
{
    private const int MaxAttempts = 20;

    public async ValueTask<CounterGrant> SyncAsync(CounterSync sync, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Counters, cancellationToken).ConfigureAwait(false);
        var attempt = 0;
        return await ETagUpdate.RunAsync(table, sync.KeyId, sync.Counter, async (current, token) =>
        {
            if (++attempt > 1)
            {
                // Another instance wrote first: its result was read again, and ours is applied on top.
                Log.Contended(logger, sync.Counter, attempt - 1);
            }

            var state = current is not null ? Read(current) : new CounterState();
            var grant = state.Apply(sync);
            await ETagUpdate.ReplaceOrAddAsync(table, current, Write(sync.KeyId, sync.Counter, state), token).ConfigureAwait(false);
            return ETagWrite.Done(grant);
        }, cancellationToken, MaxAttempts).ConfigureAwait(false);
    }

    public async ValueTask<CounterReading?> ReadAsync(string keyId, string counter, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.Counters, cancellationToken).ConfigureAwait(false);
        var current = await table.GetEntityIfExistsAsync<TableEntity>(keyId, counter, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!current.HasValue)
        {
            return null;
        }

        var state = Read(current.Value!);
        return new CounterReading(state.Used, state.ActiveLeases(now));
    }

    private static CounterState Read(TableEntity entity)
    {
        var state = new CounterState { Used = entity.GetInt64("Used") ?? 0 };
        if (entity.GetString("Leases") is { Length: > 0 } json)
        {
            using var document = JsonDocument.Parse(json);
            foreach (var lease in document.RootElement.EnumerateObject())
            {
                state.Leases[lease.Name] = (lease.Value[0].GetInt64(), DateTimeOffset.FromUnixTimeMilliseconds(lease.Value[1].GetInt64()));
            }
        }

        return state;
    }

    private static TableEntity Write(string keyId, string counter, CounterState state)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (instance, (amount, until)) in state.Leases)
            {
                writer.WriteStartArray(instance);
                writer.WriteNumberValue(amount);
                writer.WriteNumberValue(until.ToUnixTimeMilliseconds());
                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        return new TableEntity(keyId, counter)
        {
            ["Used"] = state.Used,
            ["Leases"] = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan),
        };
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1500, Level = LogLevel.Debug, Message = "Counter {Counter} changed under us (attempt {Attempt}); reading again")]
        public static partial void Contended(ILogger logger, string counter, int attempt);
    }
}
