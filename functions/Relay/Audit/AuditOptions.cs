using System.ComponentModel.DataAnnotations;

namespace Serverless.Relay.Audit;

/// <summary>Bound from the <c>Audit</c> section (<c>Audit__MaxBodyBytes</c>).</summary>
internal sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>
    /// The most of each body a full audit keeps (the request and the response separately). Digests always cover every
    /// byte; a longer body is kept cut and flagged truncated.
    /// </summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 4 * 1024 * 1024;
}
