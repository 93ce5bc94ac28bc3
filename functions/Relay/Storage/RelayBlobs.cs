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
    private readonly CreatedOnce<BlobContainerClient> _containers;

    public RelayBlobs(IOptions<RelayStorageOptions> options)
    {
        var value = options.Value;
        _prefix = value.TablePrefix.ToLowerInvariant();
        _service = new Lazy<BlobServiceClient?>(() =>
            (StorageConnection.Resolve(value, []) ?? throw new InvalidOperationException("storage settings were not validated")).CreateBlobServiceClient());
        _containers = new CreatedOnce<BlobContainerClient>(CreateAsync);
    }

    /// <summary>False when the storage settings name no blob endpoint.</summary>
    public bool IsConfigured => _service.Value is not null;

    public string NameOf(string baseName) => _prefix + baseName;

    public ValueTask<BlobContainerClient> GetAsync(string baseName, CancellationToken cancellationToken) => _containers.GetAsync(baseName, cancellationToken);

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
