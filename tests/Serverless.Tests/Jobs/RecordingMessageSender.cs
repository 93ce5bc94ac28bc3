using System.Collections.Concurrent;
using Serverless.Webhooks.Messaging;

namespace Serverless.Tests.Jobs;

/// <summary>Stands in for the IM queue sender: keeps every message sent, in order.</summary>
internal sealed class RecordingMessageSender : IMessageSender
{
    private readonly ConcurrentQueue<OutgoingMessage> _sent = new();

    public IReadOnlyList<OutgoingMessage> Sent => [.. _sent];

    public bool Fits(OutgoingMessage message) => true;

    public Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        _sent.Enqueue(message);
        return Task.CompletedTask;
    }
}
