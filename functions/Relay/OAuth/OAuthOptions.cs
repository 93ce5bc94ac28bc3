using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.OAuth;

/// <summary>Token refresh and authorization. Bound from the <c>OAuth</c> section.</summary>
internal sealed class OAuthOptions
{
    public const string Section = "OAuth";

    /// <summary>A token expiring within this is refreshed before it is used.</summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan RefreshBefore { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The <c>RefreshTokens</c> job refreshes every token expiring within this.</summary>
    [TimeSpanRange("00:01:00", "1.00:00:00")]
    public TimeSpan SweepWindow { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long a refresher holds an account's lease; another instance may take it over after.</summary>
    [TimeSpanRange("00:00:01", "00:10:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often an instance waiting on another's lease reads the row again.</summary>
    [TimeSpanRange("00:00:00.010", "00:00:30")]
    public TimeSpan LeasePollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long a decrypted token is used from memory before its row is read again: on the request path when it is about
    /// to expire, behind the request (the token in memory still used) while it stays valid.
    /// </summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a started authorization (<c>POST /api/admin/oauth/authorize</c>) can be completed.</summary>
    [TimeSpanRange("00:01:00", "01:00:00")]
    public TimeSpan AuthorizationTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The token endpoint must answer within this.</summary>
    [TimeSpanRange("00:00:01", "00:02:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>Checks <see cref="OAuthOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class OAuthOptionsValidator : IValidateOptions<OAuthOptions>;
