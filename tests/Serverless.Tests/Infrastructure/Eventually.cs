using System.Diagnostics;
using Azure;
using Azure.Data.Tables;
using Xunit;
using Xunit.Sdk;

namespace Serverless.Tests.Infrastructure;

/// <summary>
/// The one way a test waits for something the relay does in the background (a usage row written by the batching
/// writer, a slot released when the server notices a disconnect): a bounded poll that fails with a message naming
/// what was awaited and the last value seen. Use it only where nothing can be awaited directly.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Calls <paramref name="probe"/> until <paramref name="until"/> holds for its value, and returns that value.
    /// An exception from the probe counts as "not yet" and is reported if the time runs out.
    /// </summary>
    /// <param name="awaited">What is awaited, for the failure message: "3 usage rows for key k1".</param>
    public static async Task<T> ValueAsync<T>(
        string awaited,
        Func<CancellationToken, Task<T>> probe,
        Func<T, bool> until,
        Func<T, string>? describe = null,
        TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var testToken = TestContext.Current.CancellationToken;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(testToken);
        deadline.CancelAfter(limit);
        var clock = Stopwatch.StartNew();
        var attempts = 0;
        string last = "(no value yet)";
        while (true)
        {
            attempts++;
            try
            {
                var value = await probe(deadline.Token).WaitAsync(deadline.Token);
                if (until(value))
                {
                    return value;
                }

                last = describe is null ? Describe(value) : describe(value);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not XunitException)
            {
                last = $"{e.GetType().Name}: {e.Message}";
            }

            try
            {
                await Task.Delay(Interval, deadline.Token);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                break;
            }
        }

        testToken.ThrowIfCancellationRequested();
        throw new XunitException($"Timed out after {clock.Elapsed.TotalSeconds:0.0} s ({attempts} attempts) waiting for {awaited}; last seen: {last}");
    }

    /// <summary>Polls a condition until it holds.</summary>
    public static Task TrueAsync(string awaited, Func<CancellationToken, Task<bool>> condition, TimeSpan? timeout = null) =>
        ValueAsync(awaited, condition, static ok => ok, static ok => ok ? "true" : "false", timeout);

    /// <summary>
    /// Waits until a table holds at least <paramref name="count"/> rows of a partition; returns them ordered by row key.
    /// A table that does not exist yet reads as empty.
    /// </summary>
    public static async Task<IReadOnlyList<TableEntity>> RowsAsync(TableClient table, string partitionKey, int count, TimeSpan? timeout = null)
    {
        var rows = await ValueAsync(
            $"{count} row(s) in partition '{partitionKey}' of table {table.Name}",
            ct => ReadPartitionAsync(table, partitionKey, ct),
            found => found.Count >= count,
            found => $"{found.Count} row(s)",
            timeout);
        return rows;
    }

    /// <summary>The rows of one partition ordered by row key; a table that does not exist reads as empty.</summary>
    public static async Task<IReadOnlyList<TableEntity>> ReadPartitionAsync(TableClient table, string partitionKey, CancellationToken cancellationToken)
    {
        var rows = new List<TableEntity>();
        try
        {
            await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == partitionKey, cancellationToken: cancellationToken))
            {
                rows.Add(row);
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return [];
        }

        return [.. rows.OrderBy(r => r.RowKey, StringComparer.Ordinal)];
    }

    private static string Describe<T>(T value) => value switch
    {
        null => "null",
        System.Text.Json.JsonElement json => Truncate(json.GetRawText()),
        System.Collections.ICollection collection => $"{collection.Count} item(s)",
        _ => Truncate(value.ToString() ?? ""),
    };

    private static string Truncate(string text) => text.Length <= 500 ? text : text[..500] + "…";
}
