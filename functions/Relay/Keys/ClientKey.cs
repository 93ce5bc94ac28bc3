using Serverless.Relay.Accounts;
using Serverless.Relay.Audit;
using Serverless.Relay.Limits;

namespace Serverless.Relay.Keys;

/// <summary>A relay API key as the pipeline sees it. The plaintext is never kept; <see cref="Hint"/> identifies it to humans.</summary>
internal sealed record ClientKey
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Who the key is for (a person, team or app); carried into usage rows.</summary>
    public string? Owner { get; init; }

    /// <summary>Model patterns (see <see cref="ModelPattern"/>) the key may use; empty means every model.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary><see cref="UserRole"/> or <see cref="AdminRole"/>: an admin key may read and set other users' quotas.</summary>
    public string Role { get; init; } = UserRole;

    public const string UserRole = "user";
    public const string AdminRole = "admin";

    public bool IsAdmin => Role == AdminRole;

    /// <summary>Rate limits, quotas and budgets; <see cref="KeyLimits.None"/> when unlimited.</summary>
    public KeyLimits Limits { get; init; } = KeyLimits.None;

    public bool Enabled { get; init; } = true;

    /// <summary>What the audit trail keeps of this key's requests: digests always; with <see cref="AuditMode.Full"/> the bodies too.</summary>
    public AuditMode Audit { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The start and end of the plaintext, e.g. <c>sk-relay-AbCd…wxYz</c>.</summary>
    public required string Hint { get; init; }

    public bool AllowsModel(string model)
    {
        if (Models.Count == 0)
        {
            return true;
        }

        foreach (var pattern in Models)
        {
            if (ModelPattern.IsMatch(pattern, model))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Expired at <see cref="ExpiresAt"/> itself, not one tick later.</summary>
    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } expiresAt && now >= expiresAt;
}

/// <summary>Resolves a presented relay key to its record.</summary>
internal interface IClientKeyAuthenticator
{
    /// <summary>
    /// The key's record, or null when no such key exists. Disabled and expired keys are returned too: the caller
    /// answers 403 for those, 401 for null.
    /// </summary>
    ValueTask<ClientKey?> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken);

    /// <summary>
    /// Like <see cref="AuthenticateAsync"/>, but tells "no such key" apart from "storage cannot say" (an unknown key
    /// while storage is down), which the request path answers 503 rather than 401.
    /// </summary>
    ValueTask<KeyLookup> LookupAsync(string presentedKey, CancellationToken cancellationToken);

    /// <summary>The key's record if memory holds a fresh one, else null; never reads storage.</summary>
    ClientKey? FindCached(string presentedKey);
}

/// <summary>What a key lookup found: the record (possibly served stale while storage is down), nothing, or no answer.</summary>
internal readonly record struct KeyLookup(ClientKey? Key, bool StorageUnavailable)
{
    public static KeyLookup Unknown => default;

    public static KeyLookup Unavailable => new(null, true);
}
