using Microsoft.Extensions.Options;
using Serverless.Relay.Connections;

namespace Serverless.Relay.Storage;

/// <summary>
/// Where the relay's tables live. Bound from flat app settings, checked at start-up: a connection string
/// (<c>AzureWebJobsStorage</c>), or the identity-based settings the Functions host reads under the same name
/// (<c>AzureWebJobsStorage__accountName</c> or <c>__tableServiceUri</c>, with <c>__credential</c> and <c>__clientId</c>).
/// </summary>
internal sealed class RelayStorageOptions
{
    public const string ConnectionStringSetting = "AzureWebJobsStorage";
    public const string TablePrefixSetting = "RELAY_TABLE_PREFIX";

    /// <summary>NOTE: the longest base table name we use; prefix plus this must stay within Azure's 63-character limit.</summary>
    internal const int MaxPrefixLength = 40;

    /// <summary>The storage connection string (<c>AzureWebJobsStorage</c>). When set, the identity settings are not read.</summary>
    public string? ConnectionString { get; set; }

    /// <summary><c>AzureWebJobsStorage__accountName</c>: the account whose public endpoints are used.</summary>
    public string? AccountName { get; set; }

    /// <summary><c>AzureWebJobsStorage__tableServiceUri</c>: overrides the table endpoint derived from the account name.</summary>
    public string? TableServiceUri { get; set; }

    /// <summary><c>AzureWebJobsStorage__queueServiceUri</c>.</summary>
    public string? QueueServiceUri { get; set; }

    /// <summary><c>AzureWebJobsStorage__blobServiceUri</c>.</summary>
    public string? BlobServiceUri { get; set; }

    /// <summary><c>AzureWebJobsStorage__credential</c>: <c>managedidentity</c>, or unset for DefaultAzureCredential.</summary>
    public string? Credential { get; set; }

    /// <summary><c>AzureWebJobsStorage__clientId</c>: the user-assigned identity's client id.</summary>
    public string? ClientId { get; set; }

    /// <summary>Prepended to every table name, so several deployments or test runs can share one account.</summary>
    public string TablePrefix { get; set; } = "";
}

internal sealed class RelayStorageOptionsValidator : IValidateOptions<RelayStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, RelayStorageOptions options)
    {
        var errors = new List<string>();
        _ = StorageConnection.Resolve(options, errors);

        var prefix = options.TablePrefix;
        if (prefix.Length > 0 && (!char.IsAsciiLetter(prefix[0]) || !prefix.All(char.IsAsciiLetterOrDigit) || prefix.Length > RelayStorageOptions.MaxPrefixLength))
        {
            errors.Add($"{RelayStorageOptions.TablePrefixSetting} must start with a letter and hold only letters and digits, at most {RelayStorageOptions.MaxPrefixLength} characters.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
