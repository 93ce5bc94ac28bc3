using System.Text.Json;
using Serverless.Relay.Audit;
using Serverless.Relay.Accounts;
using Serverless.Relay.Keys;
using Serverless.Relay.Providers;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Admin;

/// <summary>The JSON the admin API answers. Secrets are never written: accounts say <c>hasApiKey</c>, keys show only their hint.</summary>
internal static class AdminViews
{
    /// <param name="health">This instance's marks on the account, when known.</param>
    public static void WriteAccount(Utf8JsonWriter writer, AccountRow row, AccountHealthView? health = null)
    {
        var account = row.Account;
        writer.WriteStartObject();
        writer.WriteString("id", account.Id);
        writer.WriteString("object", "account");
        writer.WriteString("name", account.Name);
        writer.WriteString("provider", account.Provider.WireName());
        JsonFields.WriteStringOrNull(writer, "baseUrl", account.BaseUrl);
        JsonFields.WriteStringOrNull(writer, "apiVersion", account.ApiVersion);
        WriteList(writer, "models", account.Models);
        writer.WriteStartObject("modelMap");
        foreach (var (requested, upstream) in account.ModelMap)
        {
            writer.WriteString(requested, upstream);
        }

        writer.WriteEndObject();
        writer.WriteNumber("priority", account.Priority);
        writer.WriteBoolean("enabled", account.Enabled);
        writer.WriteString("createdAt", account.CreatedAt);
        writer.WriteBoolean("hasApiKey", row.ProtectedApiKey is not null);
        writer.WriteNumber("weight", account.Weight);
        if (account.MaxConcurrency is { } cap)
        {
            writer.WriteNumber("maxConcurrency", cap);
        }
        else
        {
            writer.WriteNull("maxConcurrency");
        }

        PoolViews.WriteAccountExtras(writer, row, health);
        writer.WriteEndObject();
    }

    /// <param name="plaintext">The key itself, only in the answer to its creation.</param>
    public static void WriteKey(Utf8JsonWriter writer, ClientKey key, string? plaintext = null)
    {
        writer.WriteStartObject();
        writer.WriteString("id", key.Id);
        writer.WriteString("object", "key");
        if (plaintext is not null)
        {
            writer.WriteString("key", plaintext);
        }

        writer.WriteString("name", key.Name);
        JsonFields.WriteStringOrNull(writer, "owner", key.Owner);
        WriteList(writer, "models", key.Models);
        if (key.ExpiresAt is { } expiresAt)
        {
            writer.WriteString("expiresAt", expiresAt);
        }
        else
        {
            writer.WriteNull("expiresAt");
        }

        writer.WriteBoolean("enabled", key.Enabled);
        writer.WriteString("role", key.Role);
        writer.WriteString("audit", key.Audit.WireName());
        writer.WritePropertyName("limits");
        key.Limits.Write(writer);
        writer.WriteString("createdAt", key.CreatedAt);
        writer.WriteString("hint", key.Hint);
        writer.WriteEndObject();
    }


    private static void WriteList(Utf8JsonWriter writer, string name, IReadOnlyList<string> values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
    }
}
