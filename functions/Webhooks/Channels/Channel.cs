using Serverless.Relay.Audit;
using Serverless.Relay.Keys;

namespace Serverless.Webhooks.Channels;

/// <summary>The IM platforms a channel can be on; the lower-case name is the one in URLs and the admin API.</summary>
internal enum ImPlatform
{
    Telegram,
    Slack,
    Feishu,
    DingTalk,
    WeCom,
}

/// <summary>
/// One IM bot the relay answers: which platform, which model and prompt, which client key pays (its limits apply), and
/// per-user limits inside it. <see cref="Credentials"/> are decrypted in memory only; the store keeps them encrypted
/// and no admin view returns them.
/// </summary>
internal sealed record Channel
{
    public required string Id { get; init; }

    public required ImPlatform Platform { get; init; }

    public required string Name { get; init; }

    public required string Model { get; init; }

    public string? SystemPrompt { get; init; }

    /// <summary>The client key the channel's LLM calls are charged to (created for the channel, owner <c>channel:{id}</c>, when none was given).</summary>
    public required string KeyId { get; init; }

    /// <summary>Limits applied to each IM user separately; <see cref="KeyLimits.None"/> when none.</summary>
    public KeyLimits PerUserLimits { get; init; } = KeyLimits.None;

    /// <summary>What the audit trail keeps of the channel's LLM calls (the stricter of this and its key's setting applies).</summary>
    public AuditMode Audit { get; init; }

    /// <summary>The platform's API origin: the platform default, or the override (tests, Lark, private deployments).</summary>
    public required Uri ApiBaseUrl { get; init; }

    /// <summary>Platform credentials by their admin API names (<c>botToken</c>, <c>signingSecret</c>, ...).</summary>
    public required IReadOnlyDictionary<string, string> Credentials { get; init; }

    public bool Enabled { get; init; } = true;

    public required DateTimeOffset CreatedAt { get; init; }

    public string? Credential(string name) => Credentials.TryGetValue(name, out var value) ? value : null;
}
