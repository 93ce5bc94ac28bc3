using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Webhooks.Notifications;

/// <summary>How account and quota events become notifications (<c>Notifications__*</c>).</summary>
internal sealed class NotificationOptions
{
    public const string Section = "Notifications";

    /// <summary>One notification per account and status per this window, per instance: a flapping account does not flood the targets.</summary>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan Throttle { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Events waiting to be queued; when full the oldest is dropped (and logged), so the request path never waits.</summary>
    [Range(1, 100_000)]
    public int Backlog { get; set; } = 1000;
}

/// <summary>Checks <see cref="NotificationOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class NotificationOptionsValidator : IValidateOptions<NotificationOptions>;
