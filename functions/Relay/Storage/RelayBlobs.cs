using System.Collections.Concurrent;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace Serverless.Relay.Storage;

/// <summary>
/// Hands out the relay's blob containers, creating each once, on first use, like <see cref="RelayTables"/> does for
/// tables (and with the same prefix, lowercased: container names allow no capitals).
/// </summary>
internal sealed class RelayBlobs
{
    public const string Audit = "audit";

    private readonly Lazy<BlobServiceClient?> _service;
    private readonly string _prefix;
    private readonly ConcurrentDictionary<string, Lazy<Task<BlobContainerClient>>> _containers = new(StringComparer.Ordinal);

    public RelayBlobs(IOptions<RelayStorageOptions> options)
    {
        var value = options.Value;
        _prefix = value.TablePrefix.ToLowerInvariant();
        _service = new Lazy<BlobServiceClient?>(() =>
            (StorageConnection.Resolve(value, []) ?? throw new InvalidOperationException("storage settings were not validated")).CreateBlobServiceClient());
    }

    /// <summary>False when the storage settings name no blob endpoint.</summary>
    public bool IsConfigured => _service.Value is not null;

    public string NameOf(string baseName) => _prefix + baseName;

    public async Task<BlobContainerClient> GetAsync(string baseName, CancellationToken cancellationToken)
    {
        var creation = _containers.GetOrAdd(baseName, name => new Lazy<Task<BlobContainerClient>>(() => CreateAsync(name)));
        try
        {
            // NOTE: the shared creation ignores the caller's token, so one cancelled caller cannot fail the others.
            return await creation.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (creation.Value.IsFaulted)
        {
            _containers.TryRemove(new KeyValuePair<string, Lazy<Task<BlobContainerClient>>>(baseName, creation));
            throw;
        }
    }

    private async Task<BlobContainerClient> CreateAsync(string baseName)
    {
        const string setting = RelayStorageOptions.ConnectionStringSetting;
        var service = _service.Value ?? throw new InvalidOperationException(
            $"no blob endpoint: set {setting}, {setting}{StorageConnection.AccountNameSuffix} or {setting}{StorageConnection.BlobServiceUriSuffix}");
        var container = service.GetBlobContainerClient(NameOf(baseName));
        await container.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
        return container;
    }
}
