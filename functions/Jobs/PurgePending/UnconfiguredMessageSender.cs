using Serverless.Webhooks.Messaging;

namespace Serverless.Jobs.PurgePending;

/// <summary>
/// Stands in for the IM queue sender until one is registered, so the handler starts without one; a send fails loudly.
/// Registered with TryAdd: the real sender, registered first, wins.
/// </summary>
internal sealed class UnconfiguredMessageSender : IMessageSender
{
    public Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("no IM queue sender configured");
}
