using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Serverless.Relay.Storage;

/// <summary>How the relay's table clients reach the service. Bound from the <c>Storage</c> section (<c>Storage__MaxConnections</c>).</summary>
internal sealed class StorageTransportOptions
{
    public const string Section = "Storage";

    /// <summary>
    /// The most connections an instance opens to the table service at once; calls beyond them wait for a free one.
    /// </summary>
    /// <remarks>
    /// NOTE: the table SDK's own transport has no cap on .NET (Azure.Core raises only the old framework's 2), so every
    /// concurrent call opened a connection of its own: a burst of new sessions opened one per request, 1,000 at
    /// concurrency 1,000 (bench/ANALYSIS.md, "A new session's burst of writes"), each an outbound port on Azure's SNAT
    /// budget. 50 is the limit Azure's SDKs set where they set one; the relay's steady state uses under 10, because
    /// everything on the request path is served from memory and the usage writer sends one batch at a time.
    /// </remarks>
    [Range(1, 1000)]
    public int MaxConnections { get; set; } = 50;
}

/// <summary>Checks <see cref="StorageTransportOptions"/> without reflection (generated; <see cref="Validation.ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class StorageTransportOptionsValidator : IValidateOptions<StorageTransportOptions>;
