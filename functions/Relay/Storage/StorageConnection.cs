using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Serverless.Relay.Connections;

namespace Serverless.Relay.Storage;

/// <summary>
/// The storage account the relay talks to, resolved from <see cref="RelayStorageOptions"/>: either a connection string or
/// service endpoints with an Entra credential. The queue and blob endpoints are resolved for the parts that will use them.
/// </summary>
internal sealed record StorageConnection
{
    public const string AccountNameSuffix = "__accountName";
    public const string TableServiceUriSuffix = "__tableServiceUri";
    public const string QueueServiceUriSuffix = "__queueServiceUri";
    public const string BlobServiceUriSuffix = "__blobServiceUri";

    private const string Setting = RelayStorageOptions.ConnectionStringSetting;

    public string? ConnectionString { get; init; }

    public Uri? TableServiceUri { get; init; }

    public Uri? QueueServiceUri { get; init; }

    public Uri? BlobServiceUri { get; init; }

    /// <summary>Null with a connection string.</summary>
    public ConnectionCredential? Credential { get; init; }

    /// <summary>A client of the table service. No I/O: the constructor only parses.</summary>
    /// <param name="transport">The connections to send on (<see cref="RelayTableClientOptions.CreateTransport"/>).</param>
    /// <param name="credential">With identity settings, the credential to use (one per process keeps one token cache); created when null.</param>
    public TableServiceClient CreateTableServiceClient(HttpPipelineTransport transport, TokenCredential? credential = null) =>
        ConnectionString is not null
            ? new TableServiceClient(ConnectionString, RelayTableClientOptions.Create(transport))
            : new TableServiceClient(TableServiceUri, credential ?? Credential!.Create(), RelayTableClientOptions.Create(transport));

    /// <summary>
    /// A client of the blob service, or null when the settings name no blob endpoint (identity-based settings with a
    /// table URI alone). No I/O.
    /// </summary>
    public BlobServiceClient? CreateBlobServiceClient() =>
        ConnectionString is not null ? new BlobServiceClient(ConnectionString)
        : BlobServiceUri is not null ? new BlobServiceClient(BlobServiceUri, Credential!.Create())
        : null;

    /// <summary>Resolves the settings; on a wrong or missing setting adds an error naming it and returns null.</summary>
    public static StorageConnection? Resolve(RelayStorageOptions options, List<string> errors)
    {
        var count = errors.Count;
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            // NOTE: a connection string wins over identity settings, as it does for the Functions host.
            if (!IsParsable(options.ConnectionString))
            {
                errors.Add($"{Setting} is not a valid storage connection string.");
                return null;
            }

            return new StorageConnection { ConnectionString = options.ConnectionString };
        }

        var account = string.IsNullOrWhiteSpace(options.AccountName) ? null : options.AccountName.Trim();
        if (account is not null && !IsAccountName(account))
        {
            errors.Add($"{Setting}{AccountNameSuffix} must be a storage account name: 3 to 24 lowercase letters and digits.");
            account = null;
        }

        var table = Endpoint(TableServiceUriSuffix, options.TableServiceUri, account, "table", errors);
        var queue = Endpoint(QueueServiceUriSuffix, options.QueueServiceUri, account, "queue", errors);
        var blob = Endpoint(BlobServiceUriSuffix, options.BlobServiceUri, account, "blob", errors);
        if (table is null && errors.Count == count)
        {
            errors.Add(
                $"{Setting} is not set: set it to the storage account connection string, or set {Setting}{AccountNameSuffix} " +
                $"(or {Setting}{TableServiceUriSuffix}) to use a managed identity.");
        }

        var credential = ConnectionCredential.Resolve(Setting, options.Credential, options.ClientId, errors);
        if (errors.Count != count)
        {
            return null;
        }

        return new StorageConnection { TableServiceUri = table, QueueServiceUri = queue, BlobServiceUri = blob, Credential = credential };
    }

    private static Uri? Endpoint(string suffix, string? configured, string? account, string service, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(configured))
        {
            return account is null ? null : new Uri($"https://{account}.{service}.core.windows.net/");
        }

        // NOTE: https only: the SDK refuses to send a bearer token over plain http.
        if (!Uri.TryCreate(configured.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            errors.Add($"{Setting}{suffix} must be an absolute https URI.");
            return null;
        }

        return uri;
    }

    private static bool IsAccountName(string name) =>
        name.Length is >= 3 and <= 24 && name.All(c => char.IsAsciiDigit(c) || char.IsAsciiLetterLower(c));

    private static bool IsParsable(string connectionString)
    {
        try
        {
            // Parsing only: the constructor does no I/O.
            _ = new TableServiceClient(connectionString);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
