using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Webhooks.Platforms;

/// <summary>Timeouts and token refresh settings of the IM platform APIs (section <c>ImPlatforms</c>).</summary>
internal sealed class PlatformOptions
{
    public const string Section = "ImPlatforms";

    /// <summary>One call to a platform API, connect to last byte. NOTE: no retry here: a failed send fails the delivery and the queue redelivers.</summary>
    [TimeSpanRange("00:00:01", "00:01:00")]
    public TimeSpan HttpTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>An access token is refreshed this long before it expires (platforms issue them for 7200 s).</summary>
    [TimeSpanRange("00:00:00", "00:30:00")]
    public TimeSpan TokenRefreshBefore { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long one instance may hold a channel's token refresh before another takes over.</summary>
    [TimeSpanRange("00:00:02", "00:05:00")]
    public TimeSpan TokenLeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    [TimeSpanRange("00:00:00.010", "00:00:10")]
    public TimeSpan TokenLeasePollInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>Checks <see cref="PlatformOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class PlatformOptionsValidator : IValidateOptions<PlatformOptions>;
