using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Serverless.Bench.Scale;

/// <summary>
/// Counts every HTTP request the Azure SDK sends (retries included), by table and verb, from the SDK's own
/// <c>Azure-Core</c> event source: what the storage account would bill and throttle, without touching the relay's code.
/// </summary>
internal sealed class StorageOperations : EventListener
{
    private readonly ConcurrentDictionary<(string Table, string Verb), long> _counts = new();
    private readonly ConcurrentDictionary<string, long> _byPartition = new(StringComparer.Ordinal);

    /// <summary>The table prefix of the run being counted; requests to other tables are ignored.</summary>
    public string Prefix { get; set; } = "";

    public IReadOnlyDictionary<(string Table, string Verb), long> Snapshot() => new Dictionary<(string, string), long>(_counts);

    /// <summary>Requests to the busiest single partition of <paramref name="table"/>.</summary>
    public long BusiestPartition(string table) =>
        _byPartition.Where(p => p.Key.StartsWith(table + "/", StringComparison.Ordinal)).Select(p => p.Value).DefaultIfEmpty(0).Max();

    public void Reset()
    {
        _counts.Clear();
        _byPartition.Clear();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Azure-Core")
        {
            EnableEvents(eventSource, EventLevel.Informational);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName != "Request" || e.PayloadNames is null)
        {
            return;
        }

        var uri = new Uri((string)e.Payload![e.PayloadNames.IndexOf("uri")]!);
        var verb = (string)e.Payload[e.PayloadNames.IndexOf("method")]!;
        // Azurite's path: /devstoreaccount1/{table}(PartitionKey='…',RowKey='…') or /devstoreaccount1/{table}()
        var path = Uri.UnescapeDataString(uri.AbsolutePath);
        var resource = path[(path.IndexOf('/', 1) + 1)..];
        var open = resource.IndexOf('(');
        var table = open < 0 ? resource : resource[..open];
        if (!table.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return;
        }

        table = table[Prefix.Length..];
        _counts.AddOrUpdate((table, verb), 1, (_, n) => n + 1);
        const string marker = "PartitionKey='";
        var start = resource.IndexOf(marker, StringComparison.Ordinal);
        if (start >= 0)
        {
            start += marker.Length;
            var partition = resource[start..resource.IndexOf('\'', start)];
            _byPartition.AddOrUpdate(table + "/" + partition, 1, (_, n) => n + 1);
        }
    }
}
