using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Audit;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Admin;

/// <summary>Reading and checking the fields that keys and accounts share. Messages name the field; tests assert them exactly.</summary>
internal static class AdminFields
{
    public const int MaxNameLength = 100;
    public const int MaxOwnerLength = 200;

    public static Optional<string> Name(JsonElement body, FieldErrors errors, bool required)
    {
        if (!body.TryGetProperty("name", out var value))
        {
            if (required)
            {
                errors.Add("name", "name is required");
            }

            return default;
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                errors.Add("name", "name is required");
                return default;
            case JsonValueKind.String:
                var name = value.GetString()!.Trim();
                if (name.Length == 0)
                {
                    errors.Add("name", "name is required");
                    return default;
                }

                if (name.Length > MaxNameLength)
                {
                    errors.Add("name", $"name must be at most {MaxNameLength} characters");
                    return default;
                }

                return name;
            default:
                errors.Add("name", "name must be a string");
                return default;
        }
    }

    /// <summary>An optional string: null clears it; empty is refused.</summary>
    public static Optional<string?> NullableString(JsonElement body, string field, FieldErrors errors, int maxLength, string message)
    {
        if (!body.TryGetProperty(field, out var value))
        {
            return default;
        }

        if (value.ValueKind == JsonValueKind.Null)
        {
            return new Optional<string?>(true, null);
        }

        if (value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text && text.Length <= maxLength && !string.IsNullOrWhiteSpace(text))
        {
            return text;
        }

        errors.Add(field, message);
        return default;
    }

    /// <summary>An array of non-empty strings; <paramref name="allowEmpty"/> says whether <c>[]</c> (and null, meaning <c>[]</c>) is fine.</summary>
    public static Optional<IReadOnlyList<string>> Models(JsonElement body, FieldErrors errors, bool required, bool allowEmpty, string message)
    {
        if (!body.TryGetProperty("models", out var value))
        {
            if (required)
            {
                errors.Add("models", "models is required");
            }

            return default;
        }

        if (value.ValueKind == JsonValueKind.Null && allowEmpty)
        {
            return Array.Empty<string>();
        }

        if (value.ValueKind == JsonValueKind.Array)
        {
            var models = new List<string>();
            foreach (var item in value.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(item.GetString()))
                {
                    errors.Add("models", message);
                    return default;
                }

                models.Add(item.GetString()!.Trim());
            }

            if (models.Count > 0 || allowEmpty)
            {
                return models;
            }
        }

        errors.Add("models", message);
        return default;
    }

    public static Optional<bool> Enabled(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("enabled", out var value))
        {
            return default;
        }

        if (value.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return value.GetBoolean();
        }

        errors.Add("enabled", "enabled must be a boolean");
        return default;
    }

    /// <summary><c>audit</c> of a key or an IM channel: <c>hashes</c> (the default) or <c>full</c>.</summary>
    public static Optional<AuditMode> Audit(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("audit", out var value))
        {
            return default;
        }

        if (value.ValueKind == JsonValueKind.String && AuditModes.Parse(value.GetString()) is { } mode)
        {
            return mode;
        }

        errors.Add("audit", $"audit must be '{AuditModes.HashesName}' or '{AuditModes.FullName}'");
        return default;
    }

    /// <summary>A <c>keyId</c> query parameter: null when absent, an error when it could not be a key id.</summary>
    public static string? QueryKeyId(IQueryCollection query, FieldErrors errors)
    {
        var keyId = query["keyId"].ToString() is { Length: > 0 } id ? id : null;
        if (keyId is not null && !StorageIds.IsWellFormed(KeyEndpoints.IdPrefix, keyId))
        {
            errors.Add("keyId", $"keyId '{keyId}' is not a key id");
        }

        return keyId;
    }

    /// <summary>A <c>limit</c> query parameter (page size): <paramref name="fallback"/> when absent, 1 to <paramref name="max"/>.</summary>
    public static int QueryLimit(IQueryCollection query, int fallback, int max, FieldErrors errors)
    {
        if (query["limit"].ToString() is not { Length: > 0 } text)
        {
            return fallback;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 && limit <= max)
        {
            return limit;
        }

        errors.Add("limit", $"limit must be a whole number from 1 to {max}");
        return fallback;
    }
}
