namespace Serverless.Relay.Audit;

/// <summary>What the audit trail keeps of a request: always its digests; with <see cref="Full"/> also its bodies.</summary>
internal enum AuditMode
{
    /// <summary>SHA-256 of the request and response bodies, with who, which account and model, status and client address.</summary>
    Hashes,

    /// <summary>Also the bodies themselves, encrypted in Blob storage (keys or channels that must be able to show what was said).</summary>
    Full,
}

internal static class AuditModes
{
    public const string HashesName = "hashes";
    public const string FullName = "full";

    public static string WireName(this AuditMode mode) => mode == AuditMode.Full ? FullName : HashesName;

    public static AuditMode? Parse(string? value) => value switch
    {
        HashesName => AuditMode.Hashes,
        FullName => AuditMode.Full,
        _ => null,
    };

    /// <summary>The stricter of two modes: a channel's <c>full</c> wins over its key's <c>hashes</c>, and the reverse.</summary>
    public static AuditMode Max(AuditMode a, AuditMode b) => a > b ? a : b;
}
