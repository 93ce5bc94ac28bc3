using System.Text.Json;
using Serverless.Relay.Functions;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// A Service Bus-triggered function through <see cref="JsonInvocation"/>, behind the host and in local mode alike.
/// <c>Data.&lt;binding&gt;</c> is the body; <c>Metadata</c> carries the broker properties under the names the Service Bus
/// extension binds (<c>ServiceBusTriggerBindingStrategy</c>): <c>MessageId</c>, <c>SessionId</c>, <c>DeliveryCount</c>,
/// <c>EnqueuedTime</c> (and the older <c>EnqueuedTimeUtc</c>), beside many this handler ignores (<c>LockToken</c>,
/// <c>SequenceNumber</c>, <c>ApplicationProperties</c>/<c>UserProperties</c>, <c>MessageReceiver</c>, <c>sys</c>, …).
/// </summary>
internal static class QueueInvocation
{
    public static void MapQueue(this WebApplication app, string functionName, string bindingName, IQueueFunction entry, TimeSpan deadline, bool loopbackOnly) =>
        app.MapInvocation(functionName, deadline, (root, ct) => entry.RunAsync(Read(root, bindingName), ct), loopbackOnly);

    /// <exception cref="JsonException">The invocation has no message body (answered 400, so the message is tried again and dead-lettered).</exception>
    internal static QueueMessage Read(JsonElement root, string bindingName) =>
        new(
            JsonInvocation.DataText(root, bindingName) ?? throw new JsonException($"Data.{bindingName} (the message body) is missing"),
            JsonInvocation.MetadataText(root, "MessageId"),
            JsonInvocation.MetadataText(root, "SessionId"),
            // NOTE: 0 means the host did not say; Service Bus counts from 1.
            JsonInvocation.MetadataInt(root, "DeliveryCount") ?? 0,
            JsonInvocation.MetadataTime(root, "EnqueuedTime") ?? JsonInvocation.MetadataTime(root, "EnqueuedTimeUtc"));
}
