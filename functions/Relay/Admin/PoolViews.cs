using System.Text.Json;
using Serverless.Relay.Accounts;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Admin;

/// <summary>The admin JSON of the account pool: health marks, events, model groups.</summary>
internal static class PoolViews
{
    public static string StatusName(AccountStatus status) => status.WireName();

    /// <summary>What an account view carries beyond its stored fields: its health on this instance.</summary>
    public static void WriteAccountExtras(Utf8JsonWriter writer, AccountRow row, AccountHealthView? health)
    {
        if (row.Account.OAuth is { } oauth && row.OAuth is { } secrets)
        {
            writer.WriteStartObject("oauth");
            writer.WriteString("tokenUrl", oauth.TokenUrl);
            writer.WriteString("clientId", oauth.ClientId);
            writer.WriteString("requestFormat", Accounts.OAuthSettings.WireName(oauth.Format));
            writer.WriteString("expiresAt", secrets.ExpiresAt);
            writer.WriteBoolean("hasRefreshToken", secrets.ProtectedRefreshToken is not null);
            WriteText(writer, "lastRefreshError", secrets.LastRefreshError);
            writer.WriteEndObject();
        }

        if (health is null)
        {
            return;
        }

        writer.WriteStartObject("health");
        writer.WriteString("status", row.Account.Enabled ? StatusName(health.Status) : "disabled-by-admin");
        WriteTime(writer, "until", health.Until);
        if (health.LastError is null)
        {
            writer.WriteNull("lastError");
        }
        else
        {
            writer.WriteString("lastError", health.LastError);
        }

        WriteTime(writer, "lastErrorAt", health.LastErrorAt);
        writer.WriteNumber("inFlight", health.InFlight);
        writer.WriteNumber("recentRequests", health.RecentRequests);
        if (health.SuccessRate is { } rate)
        {
            writer.WriteNumber("successRate", rate);
        }
        else
        {
            writer.WriteNull("successRate");
        }

        writer.WriteEndObject();
    }

    public static void WriteEvent(Utf8JsonWriter writer, AccountEvent accountEvent)
    {
        writer.WriteStartObject();
        writer.WriteString("object", "account.event");
        writer.WriteString("account", accountEvent.AccountId);
        writer.WriteString("status", StatusName(accountEvent.Status));
        writer.WriteString("at", accountEvent.At);
        WriteTime(writer, "until", accountEvent.Until);
        writer.WriteString("reason", accountEvent.Reason);
        writer.WriteEndObject();
    }

    public static void WriteGroup(Utf8JsonWriter writer, ModelGroup group)
    {
        writer.WriteStartObject();
        writer.WriteString("object", "model.group");
        writer.WriteString("name", group.Name);
        writer.WriteString("strategy", ModelGroup.WireName(group.Strategy));
        writer.WriteStartArray("targets");
        foreach (var target in group.Targets)
        {
            writer.WriteStartObject();
            if (target.AccountId is not null)
            {
                writer.WriteString("account", target.AccountId);
            }
            else
            {
                writer.WriteString("provider", target.Provider!.Value.WireName());
            }

            writer.WriteString("upstreamModel", target.UpstreamModel);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteStartArray("fallback");
        foreach (var model in group.Fallback)
        {
            writer.WriteStringValue(model);
        }

        writer.WriteEndArray();
        writer.WriteString("createdAt", group.CreatedAt);
        writer.WriteEndObject();
    }

    private static void WriteText(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? value)
    {
        if (value is { } time)
        {
            writer.WriteString(name, time);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
