using System.Collections.Concurrent;
using System.Text;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Options;
using Serverless.Relay.Connections;

namespace Serverless.Webhooks.Messaging;

/// <summary>
/// Sends to the IM session queues with the Service Bus SDK, identity-based
/// (<c>ServiceBusConnection__fullyQualifiedNamespace</c>). One client and one cached sender per queue for the process;
/// the container disposes them at shutdown.
/// NOTE: this leg runs only in Azure: no Service Bus emulator runs where the tests do; <see cref="ToServiceBusMessage"/>
/// is unit-tested instead.
/// </summary>
internal sealed class ServiceBusMessageSender : IMessageSender, IAsyncDisposable
{
    private readonly Lazy<ServiceBusClient> _client;
    private readonly ConcurrentDictionary<string, ServiceBusSender> _senders = new(StringComparer.Ordinal);

    public ServiceBusMessageSender(IOptions<ServiceBusConnectionOptions> options)
    {
        var value = options.Value;
        // Validated at start-up; the credential fetches a token on first send, not here.
        _client = new Lazy<ServiceBusClient>(() =>
        {
            var connection = value.Resolve([]) ?? throw new InvalidOperationException("Service Bus settings were not validated");
            return new ServiceBusClient(connection.FullyQualifiedNamespace, connection.Credential.Create());
        });
    }

    /// <summary>
    /// The most UTF-8 bytes of body sent: the Standard tier (infra/bicep's default) takes 256 KB a message, headers and
    /// properties included, so a quarter is left to them. Premium takes more; this bound holds on either.
    /// </summary>
    internal const int MaxBodyBytes = 192 * 1024;

    public bool Fits(OutgoingMessage message) => Encoding.UTF8.GetByteCount(message.Body) <= MaxBodyBytes;

    public Task SendAsync(OutgoingMessage message, CancellationToken cancellationToken) =>
        _senders.GetOrAdd(message.Queue, static (queue, client) => client.Value.CreateSender(queue), _client)
            .SendMessageAsync(ToServiceBusMessage(message), cancellationToken);

    /// <summary>
    /// The broker message: <c>SessionId</c> is the chat (in-order handling), <c>MessageId</c> the platform key (the
    /// queue's duplicate detection), the body a JSON object's UTF-8 text, and a schedule when the sender asked for one.
    /// </summary>
    public static ServiceBusMessage ToServiceBusMessage(OutgoingMessage message)
    {
        var result = new ServiceBusMessage(BinaryData.FromString(message.Body))
        {
            MessageId = message.MessageId,
            SessionId = message.SessionId,
            ContentType = "application/json",
        };
        if (message.ScheduledEnqueueTime is { } scheduled)
        {
            result.ScheduledEnqueueTime = scheduled.ToUniversalTime();
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sender in _senders.Values)
        {
            await sender.DisposeAsync().ConfigureAwait(false);
        }

        if (_client.IsValueCreated)
        {
            await _client.Value.DisposeAsync().ConfigureAwait(false);
        }
    }
}
