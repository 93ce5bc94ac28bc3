namespace Serverless.Relay.Audit;

/// <summary>One request in the audit trail: who asked what of which account, what came back, and the digests that prove it.</summary>
internal sealed record AuditEntry
{
    public required string RequestId { get; init; }

    public required string KeyId { get; init; }

    public string? Owner { get; init; }

    public string? AccountId { get; init; }

    public required string ClientApi { get; init; }

    public required string Model { get; init; }

    public string? UpstreamModel { get; init; }

    public int Status { get; init; }

    /// <summary>When the request was recorded (its end).</summary>
    public required DateTimeOffset At { get; init; }

    public required AuditFacts Facts { get; init; }

    /// <summary>The blob holding the encrypted bodies (a full audit), or null.</summary>
    public string? BodiesBlob { get; init; }

    /// <summary>A body was longer than the capture keeps: the blob holds its start, and its digest covers all of it.</summary>
    public bool BodiesTruncated { get; init; }
}
