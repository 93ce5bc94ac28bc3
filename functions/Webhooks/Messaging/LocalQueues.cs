using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Serverless.Relay.Storage;

namespace Serverless.Webhooks.Messaging;

/// <summary>
/// The Azurite Storage queues that stand in for the Service Bus queues in local mode: one per Service Bus queue, same
/// name after the storage prefix, and a <c>{queue}-poison</c> beside it for what Service Bus would dead-letter. The
/// sender and the local trigger share this one place for names and clients.
/// </summary>
internal sealed class LocalQueues
{
    public const string PoisonSuffix = "-poison";

    private readonly Lazy<QueueServiceClient> _service;
    private readonly string _prefix;
    private readonly CreatedOnce<QueueClient> _clients;

    public LocalQueues(IOptions<RelayStorageOptions> options)
    {
        var value = options.Value;
        // NOTE: the table prefix (RELAY_TABLE_PREFIX: letters and digits) isolates queues too, so parallel test hosts
        // never share one. Queue names are lowercase; prefix (at most 40) + '-' + name + "-poison" stays within 63.
        _prefix = value.TablePrefix.Length == 0 ? "" : value.TablePrefix.ToLowerInvariant() + "-";
        _service = new Lazy<QueueServiceClient>(() => Create(value));
        _clients = new CreatedOnce<QueueClient>(CreateQueueAsync);
    }

    /// <summary>The Storage queue that stands in for the Service Bus queue <paramref name="queue"/>.</summary>
    public string NameOf(string queue) => _prefix + queue;

    /// <summary>The client of a stand-in queue (or of its poison queue, by its full base name), created once.</summary>
    public ValueTask<QueueClient> GetAsync(string queue, CancellationToken cancellationToken) => _clients.GetAsync(queue, cancellationToken);

    private async Task<QueueClient> CreateQueueAsync(string queue)
    {
        var client = _service.Value.GetQueueClient(NameOf(queue));
        await client.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
        return client;
    }

    private static QueueServiceClient Create(RelayStorageOptions options)
    {
        var connection = StorageConnection.Resolve(options, []) ?? throw new InvalidOperationException("storage settings were not validated");
        if (connection.ConnectionString is not null)
        {
            return new QueueServiceClient(connection.ConnectionString);
        }

        return connection.QueueServiceUri is { } uri
            ? new QueueServiceClient(uri, connection.Credential!.Create())
            : throw new InvalidOperationException(
                $"Local queues need the queue endpoint: set {RelayStorageOptions.ConnectionStringSetting}{StorageConnection.AccountNameSuffix} " +
                $"or {RelayStorageOptions.ConnectionStringSetting}{StorageConnection.QueueServiceUriSuffix}.");
    }
}
