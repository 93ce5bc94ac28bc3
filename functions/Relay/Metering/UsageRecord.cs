using Serverless.Relay.Audit;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Metering;

/// <summary>One relayed request, as metered. Holds no secret and no prompt text.</summary>
internal sealed record UsageRecord
{
    public required string RequestId { get; init; }

    public required string KeyId { get; init; }

    public string? Owner { get; init; }

    /// <summary>The upstream account that answered; null when none was reached.</summary>
    public string? AccountId { get; init; }

    /// <summary>The client API: <c>openai-chat</c>, <c>openai-responses</c>, <c>openai-responses-compact</c>, <c>anthropic</c> or <c>gemini</c>.</summary>
    public required string ClientApi { get; init; }

    public required string RequestedModel { get; init; }

    public string? UpstreamModel { get; init; }

    /// <summary>The provider's wire name.</summary>
    public string? Provider { get; init; }

    public bool Stream { get; init; }

    /// <summary>The status code the client got.</summary>
    public int Status { get; init; }

    /// <summary>A short description of a failure; never a secret or prompt text.</summary>
    public string? Error { get; init; }

    public Usage Usage { get; init; } = Usage.Empty;

    /// <summary>What the usage cost in USD by the price table in force; 0 (and <see cref="Unpriced"/>) when the model has no price.</summary>
    public decimal? CostUsd { get; init; }

    /// <summary>Tokens were used but neither the upstream nor the requested model has a price: metered at 0, flagged so it is seen.</summary>
    public bool Unpriced { get; init; }

    public double LatencyMs { get; init; }

    public double? TimeToFirstByteMs { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The request's audit facts (digests, client address, bodies for a full audit); null writes no audit row.</summary>
    public AuditFacts? Audit { get; init; }
}

/// <summary>Where the pipeline hands usage records. Never blocks the request, never throws.</summary>
internal interface IUsageSink
{
    /// <summary>Takes the row; never waits and never drops it.</summary>
    void Record(UsageRecord record);

    /// <summary>True while more rows wait for storage than the sink is configured to hold: new requests are shed until it catches up.</summary>
    bool Backlogged { get; }

    /// <summary>
    /// True while the bodies of full audits waiting for storage reach what the sink is configured to hold: new requests
    /// that would keep bodies are shed until it catches up; others are still served.
    /// </summary>
    bool AuditBacklogged { get; }
}
