using Azure.Data.Tables;
using Microsoft.Extensions.Options;

namespace Serverless.Relay.Storage;

/// <summary>Where the relay's tables live. Bound from flat app settings, checked at start-up.</summary>
internal sealed class RelayStorageOptions
{
    public const string ConnectionStringSetting = "AzureWebJobsStorage";
    public const string TablePrefixSetting = "RELAY_TABLE_PREFIX";

    /// <summary>NOTE: the longest base table name we use; prefix plus this must stay within Azure's 63-character limit.</summary>
    internal const int MaxPrefixLength = 40;

    /// <summary>The storage connection string (<c>AzureWebJobsStorage</c>).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Prepended to every table name, so several deployments or test runs can share one account.</summary>
    public string TablePrefix { get; set; } = "";
}

internal sealed class RelayStorageOptionsValidator : IValidateOptions<RelayStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, RelayStorageOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            errors.Add($"{RelayStorageOptions.ConnectionStringSetting} is not set: set it to the storage account connection string.");
        }
        else if (!IsParsable(options.ConnectionString))
        {
            errors.Add($"{RelayStorageOptions.ConnectionStringSetting} is not a valid storage connection string.");
        }

        var prefix = options.TablePrefix;
        if (prefix.Length > 0 && (!char.IsAsciiLetter(prefix[0]) || !prefix.All(char.IsAsciiLetterOrDigit) || prefix.Length > RelayStorageOptions.MaxPrefixLength))
        {
            errors.Add($"{RelayStorageOptions.TablePrefixSetting} must start with a letter and hold only letters and digits, at most {RelayStorageOptions.MaxPrefixLength} characters.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

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
