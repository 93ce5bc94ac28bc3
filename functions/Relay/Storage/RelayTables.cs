using System.Diagnostics.CodeAnalysis;
using Azure;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Data.Tables.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Storage.Batches;

namespace Serverless.Relay.Storage;

/// <summary>
/// Hands out <see cref="TableClient"/>s for the relay's tables, creating each table once, on first use (<see cref="CreatedOnce{T}"/>).
/// Its clients share one transport, capped in connections (<see cref="StorageTransportOptions"/>), closed with it.
/// </summary>
internal sealed partial class RelayTables : IDisposable
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

    private readonly Lazy<(TableServiceClient Service, UpsertBatchSender Batches, HttpClientTransport Transport)> _clients;
    private readonly string _prefix;
    private readonly CreatedOnce<TableClient> _tables;
    private readonly ILogger<RelayTables> _logger;

    // NOTE: the table SDK makes each row it reads with new T(); in a Native AOT build that finds TableEntity's
    // constructor only if something roots it, and nothing in the SDK does (MissingMethodException on the first read).
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor, typeof(TableEntity))]
    public RelayTables(IOptions<RelayStorageOptions> options, IOptions<StorageTransportOptions> transport, ILogger<RelayTables> logger)
    {
        var value = options.Value;
        var transportOptions = transport.Value;
        _prefix = value.TablePrefix;
        // Validated at start-up, so the settings resolve; the credential is created with the client, on first use.
        _clients = new(() =>
        {
            var connection = StorageConnection.Resolve(value, []) ?? throw new InvalidOperationException("storage settings were not validated");
            var credential = connection.Credential?.Create();
            var transport = RelayTableClientOptions.CreateTransport(transportOptions);
            var service = connection.CreateTableServiceClient(transport, credential);
            return (service, UpsertBatchSender.Create(connection, service, transport, credential), transport);
        });
        _logger = logger;
        _tables = new CreatedOnce<TableClient>(CreateOnceAsync);
    }

    /// <summary>The full table name of a base name: the prefix, then the name.</summary>
    public string NameOf(string baseName) => _prefix + baseName;

    /// <summary>The client of a table, created if this instance has not yet seen it. Synchronous once created.</summary>
    public ValueTask<TableClient> GetAsync(string baseName, CancellationToken cancellationToken) => _tables.GetAsync(baseName, cancellationToken);

    /// <summary>
    /// Upserts (insert or replace) rows of one partition, at most 100 with distinct row keys, as one transaction: all
    /// are written or none. The write path for rows recorded in bulk (<see cref="UpsertBatchSender"/> says why it is
    /// not the SDK's).
    /// </summary>
    /// <param name="slices">How writing the request's body yields to the request path.</param>
    /// <exception cref="TableBatchRejectedException">The service refused a row; nothing was written.</exception>
    public async ValueTask UpsertBatchAsync(string baseName, IReadOnlyList<TableRow> entities, RowSlices slices, CancellationToken cancellationToken)
    {
        var table = await GetAsync(baseName, cancellationToken).ConfigureAwait(false);
        await _clients.Value.Batches.UpsertAsync(table, entities, slices, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        if (_clients.IsValueCreated)
        {
            _clients.Value.Transport.Dispose();
        }
    }

    private async Task<TableClient> CreateOnceAsync(string baseName)
    {
        var client = _clients.Value.Service.GetTableClient(NameOf(baseName));
        try
        {
            // NOTE: not CreateIfNotExistsAsync: it serializes its request body by reflection, which a Native AOT build
            // cannot do (the handler is published that way). CreateAsync sends the same request through the SDK's
            // generated serializer; TableAlreadyExists means another instance, or an earlier life of this one, created it.
            await client.CreateAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 409 && e.ErrorCode == TableErrorCode.TableAlreadyExists)
        {
        }

        Log.TableReady(_logger, client.Name);
        return client;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1000, Level = LogLevel.Debug, Message = "Table {Table} is ready")]
        public static partial void TableReady(ILogger logger, string table);
    }
}
