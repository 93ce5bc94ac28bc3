using System.Text.Json;
using Serverless.Relay.Audit;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;

namespace Serverless.Relay.Admin;

/// <summary>The body of <c>POST /api/admin/keys</c> or <c>PATCH /api/admin/keys/{id}</c>.</summary>
internal sealed record KeyRequest
{
    public Optional<string> Name { get; init; }
    public Optional<string?> Owner { get; init; }
    public Optional<IReadOnlyList<string>> Models { get; init; }
    public Optional<DateTimeOffset?> ExpiresAt { get; init; }
    public Optional<bool> Enabled { get; init; }
    public Optional<KeyLimitsPatch> Limits { get; init; }
    public Optional<string> Role { get; init; }
    public Optional<AuditMode> Audit { get; init; }

    public static KeyRequest Parse(JsonElement body, FieldErrors errors, bool creating, DateTimeOffset now) => new()
    {
        Name = AdminFields.Name(body, errors, required: creating),
        Owner = AdminFields.NullableString(body, "owner", errors, AdminFields.MaxOwnerLength, $"owner must be a non-empty string of at most {AdminFields.MaxOwnerLength} characters"),
        Models = AdminFields.Models(body, errors, required: false, allowEmpty: true, "models must be an array of non-empty strings"),
        ExpiresAt = ParseExpiresAt(body, errors, now),
        Enabled = AdminFields.Enabled(body, errors),
        Limits = ParseLimits(body, errors),
        Role = ParseRole(body, errors),
        Audit = AdminFields.Audit(body, errors),
    };

    public ClientKey ApplyTo(ClientKey current) => current with
    {
        Name = Name.Or(current.Name),
        Owner = Owner.Or(current.Owner),
        Models = Models.Or(current.Models),
        ExpiresAt = ExpiresAt.Or(current.ExpiresAt),
        Enabled = Enabled.Or(current.Enabled),
        Limits = Limits.IsSet ? current.Limits.Merge(Limits.Value) : current.Limits,
        Role = Role.Or(current.Role),
        Audit = Audit.Or(current.Audit),
    };

    private static Optional<string> ParseRole(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("role", out var value))
        {
            return default;
        }

        if (value.ValueKind == JsonValueKind.String && value.GetString() is ClientKey.UserRole or ClientKey.AdminRole)
        {
            return value.GetString()!;
        }

        errors.Add("role", "role must be 'user' or 'admin'");
        return default;
    }

    private static Optional<KeyLimitsPatch> ParseLimits(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("limits", out var value))
        {
            return default;
        }

        var messages = new List<string>();
        var patch = KeyLimitsPatch.Parse(value, messages);
        foreach (var message in messages)
        {
            errors.Add("limits", message);
        }

        return patch is null ? default : new Optional<KeyLimitsPatch>(true, patch);
    }

    private static Optional<DateTimeOffset?> ParseExpiresAt(JsonElement body, FieldErrors errors, DateTimeOffset now)
    {
        if (!body.TryGetProperty("expiresAt", out var value))
        {
            return default;
        }

        if (value.ValueKind == JsonValueKind.Null)
        {
            return new Optional<DateTimeOffset?>(true, null);
        }

        if (value.ValueKind != JsonValueKind.String || !value.TryGetDateTimeOffset(out var expiresAt))
        {
            errors.Add("expiresAt", "expiresAt must be an ISO-8601 date and time");
            return default;
        }

        if (expiresAt <= now)
        {
            errors.Add("expiresAt", "expiresAt must be in the future");
            return default;
        }

        return new Optional<DateTimeOffset?>(true, expiresAt);
    }
}
