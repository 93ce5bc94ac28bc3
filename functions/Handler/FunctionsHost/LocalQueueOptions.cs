using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Handler.FunctionsHost;

/// <summary>One Service Bus function and its queue, from its <c>function.json</c>.</summary>
internal sealed record QueueRegistration(string FunctionName, string QueueName, string BindingName);

/// <summary>
/// How local mode plays the Service Bus trigger over Storage queues (<c>LocalQueues__*</c>). Defaults follow the
/// deployment: infra/bicep's max delivery count and host.json's <c>maxConcurrentSessions</c>.
/// </summary>
internal sealed class LocalQueueOptions
{
    public const string Section = "LocalQueues";

    /// <summary>Sessions (chats) of one queue handled at once; one session's messages never run concurrently.</summary>
    [Range(1, 256)]
    public int MaxConcurrentSessions { get; set; } = 8;

    /// <summary>Deliveries before a failing message moves to <c>{queue}-poison</c> (infra/bicep <c>serviceBusMaxDeliveryCount</c>).</summary>
    [Range(1, 100)]
    public int MaxDeliveryCount { get; set; } = 5;

    /// <summary>
    /// A failed message becomes visible again after this, doubled per delivery up to <see cref="MaxRetryDelay"/>.
    /// NOTE: the Storage queue counts whole seconds, so under a second means at once.
    /// </summary>
    [TimeSpanRange("00:00:00.001", "01:00:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    [TimeSpanRange("00:00:00.001", "01:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a received message stays invisible to other receivers while this process holds it: host.json's
    /// <c>maxAutoLockRenewalDuration</c>, the longest a Service Bus function keeps its message.
    /// </summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan LockDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest wait between polls of an idle queue (the first comes after 100 ms; a local send wakes it at once).</summary>
    [TimeSpanRange("00:00:00.010", "00:01:00")]
    public TimeSpan MaxPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>An invocation still running then is cancelled and counts as failed (host.json <c>functionTimeout</c>).</summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan FunctionTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>At shutdown, how long running invocations may finish before they are abandoned (delivered again later).</summary>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan ShutdownGrace { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>Checks <see cref="LocalQueueOptions"/> without reflection (generated; <see cref="ValidatedOptions"/>).</summary>
[OptionsValidator]
internal sealed partial class LocalQueueOptionsValidator : IValidateOptions<LocalQueueOptions>;
