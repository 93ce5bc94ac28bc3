namespace Serverless.Relay.Audit;

/// <summary>What the request path learned for the audit row: digests and sizes of both bodies, and who sent it.</summary>
internal sealed record AuditFacts
{
    /// <summary>SHA-256 of the request body as received (for an in-process caller: as the relay wrote it down).</summary>
    public Sha256Digest? RequestSha256 { get; init; }

    public long RequestBytes { get; init; }

    /// <summary>
    /// SHA-256 of every response body byte the relay wrote, stream events and heartbeats included; null when the
    /// client got an error response instead of an answer (its status and error are on the row).
    /// </summary>
    public Sha256Digest? ResponseSha256 { get; init; }

    public long ResponseBytes { get; init; }

    /// <summary>The client's IP address, or for an IM channel its platform (<c>im:telegram</c>).</summary>
    public string? ClientAddress { get; init; }

    /// <summary>Both bodies, when the key or channel audits in full; null otherwise.</summary>
    public AuditBodies? Bodies { get; init; }
}

/// <summary>
/// Captured bodies, each cut at <see cref="AuditOptions.MaxBodyBytes"/> (then its digest, taken over every byte, no
/// longer matches the capture, and <see cref="Truncated"/> says so).
/// </summary>
internal sealed record AuditBodies(ReadOnlyMemory<byte> Request, ReadOnlyMemory<byte> Response, bool Truncated)
{
    /// <summary>What the two bodies hold in memory until they are written.</summary>
    public long Bytes => Request.Length + Response.Length;
}
