namespace Serverless.Webhooks.Messaging;

/// <summary>The queues of the IM flow, named as in <c>function.json</c>, infra/bicep and the local stand-in.</summary>
internal static class ImQueues
{
    public const string Inbound = "im-inbound";
    public const string Outbound = "im-outbound";
}

/// <summary>
/// A message to send to a session queue. <see cref="Body"/> is a JSON object's text (never a bare string: the host
/// decodes a string that happens to be base64). <see cref="SessionId"/> is the chat, so one chat's messages are handled
/// in order; <see cref="MessageId"/> is the platform message key (plus a suffix for a later step or a retry), so the
/// queue's duplicate detection drops a second send of the same step.
/// </summary>
internal sealed record OutgoingMessage(string Queue, string Body, string MessageId, string SessionId)
{
    /// <summary>When set, the message becomes visible only then (a platform's <c>retry_after</c>).</summary>
    public DateTimeOffset? ScheduledEnqueueTime { get; init; }
}

/// <summary>
/// Sends to the IM queues: Service Bus with the SDK in Azure (an output binding cannot set <c>SessionId</c>), a Storage
/// queue of the same name in local mode. Handler code cannot tell which.
/// </summary>
internal interface IMessageSender
{
    /// <summary>
    /// Whether the queue takes <paramref name="message"/>: a message past its size limit is refused at send, and a send
    /// that fails hands the message being handled back to be handled again.
    /// </summary>
    bool Fits(OutgoingMessage message);

    Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken);
}
