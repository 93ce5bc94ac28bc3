using Serverless.Relay.Connections;

namespace Serverless.Webhooks.Messaging;

/// <summary>
/// Behind the Functions host without a Service Bus namespace: the app still starts (the client APIs need no queue), and
/// whatever tries to send fails saying which setting is missing.
/// </summary>
internal sealed class UnconfiguredMessageSender : IMessageSender
{
    /// <summary>Any size: the send fails for a reason of its own.</summary>
    public bool Fits(OutgoingMessage message) => true;

    public Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken) =>
        throw new InvalidOperationException(
            $"Cannot send to the queue '{message.Queue}': {ServiceBusConnectionOptions.ConnectionName}{ServiceBusConnectionOptions.NamespaceSuffix} " +
            "is not set. Set it to the Service Bus namespace host name, e.g. NAME.servicebus.windows.net.");
}
