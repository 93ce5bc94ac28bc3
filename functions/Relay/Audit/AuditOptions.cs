using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

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

/// <summary>Checks <see cref="AuditOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class AuditOptionsValidator : IValidateOptions<AuditOptions>;
