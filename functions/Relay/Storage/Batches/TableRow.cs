using Azure.Data.Tables;

namespace Serverless.Relay.Storage.Batches;

/// <summary>
/// A row for <see cref="UpsertBatchSender"/>: its keys and its columns in the order they were set, each set once.
/// A null column is not written.
/// </summary>
/// <remarks>
/// NOTE: why not <see cref="TableEntity"/>. Its dictionary grew 3 → 7 → 17 → 37 entries for every usage and audit
/// row, a tenth of all the relay allocated under load (bench/ANALYSIS.md, "Long answers, and what the usage writer
/// allocated"); a row's columns are known, so one list of the right size holds them.
/// </remarks>
internal sealed class TableRow(string partitionKey, string rowKey, int columns)
{
    private readonly List<KeyValuePair<string, object?>> _columns = new(columns);

    public string PartitionKey { get; set; } = partitionKey;

    public string RowKey { get; } = rowKey;

    public IReadOnlyList<KeyValuePair<string, object?>> Columns => _columns;

    /// <summary>Adds a column (for an initializer: <c>new TableRow(…) { ["Name"] = value }</c>).</summary>
    public object? this[string name]
    {
        set => _columns.Add(new(name, value));
    }

    /// <summary>The same row for the table SDK.</summary>
    public TableEntity ToEntity()
    {
        var entity = new TableEntity(PartitionKey, RowKey);
        foreach (var (name, value) in _columns)
        {
            if (value is not null)
            {
                entity[name] = value;
            }
        }

        return entity;
    }
}
