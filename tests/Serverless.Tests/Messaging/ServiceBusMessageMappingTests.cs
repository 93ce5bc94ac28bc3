using System.Text.Json;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Handler.FunctionsHost;
using Serverless.Relay.Functions;
using Serverless.Webhooks.Messaging;
using Xunit;

namespace Serverless.Tests.Messaging;

/// <summary>
/// The Service Bus leg runs only in Azure (no emulator here): what it sends is checked through the SDK's own model
/// factory, and what the trigger would hand back through the reader the handler uses.
/// </summary>
public sealed class ServiceBusMessageMappingTests
{
    private static readonly OutgoingMessage Reply = new(ImQueues.Outbound, """{"channelId":"ch_1","text":"héllo"}""", "tg:42:7:reply", "tg:42");

    [Fact]
    public void ToServiceBusMessage_SessionAndMessageIdAndBody_SetForSessionsAndDuplicateDetection()
    {
        var message = ServiceBusMessageSender.ToServiceBusMessage(Reply);

        Assert.Equal("tg:42", message.SessionId);
        Assert.Equal("tg:42:7:reply", message.MessageId);
        Assert.Equal("application/json", message.ContentType);
        Assert.Equal(Reply.Body, message.Body.ToString());
        Assert.Equal(default, message.ScheduledEnqueueTime);
    }

    [Theory]
    [InlineData("a", 1)]
    [InlineData("é", 2)]
    [InlineData("漢", 3)]
    public void Fits_BodyMeasuredInUtf8Bytes_UpToTheBound(string character, int bytes)
    {
        var sender = new ServiceBusMessageSender(Microsoft.Extensions.Options.Options.Create(new Serverless.Relay.Connections.ServiceBusConnectionOptions()));
        OutgoingMessage Sized(int characters) => Reply with { Body = string.Concat(Enumerable.Repeat(character, characters)) };

        Assert.True(sender.Fits(Sized(ServiceBusMessageSender.MaxBodyBytes / bytes)));
        Assert.False(sender.Fits(Sized((ServiceBusMessageSender.MaxBodyBytes / bytes) + 1)));
    }

    [Fact]
    public void ToServiceBusMessage_Scheduled_SetsTheEnqueueTimeInUtc()
    {
        var at = new DateTimeOffset(2025, 6, 1, 12, 0, 30, TimeSpan.FromHours(2));

        var message = ServiceBusMessageSender.ToServiceBusMessage(Reply with { ScheduledEnqueueTime = at });

        Assert.Equal(at, message.ScheduledEnqueueTime);
        Assert.Equal(TimeSpan.Zero, message.ScheduledEnqueueTime.Offset);
    }

    [Fact]
    public void ToServiceBusMessage_ReceivedThroughTheTrigger_ReadsBackAsSent()
    {
        var sent = ServiceBusMessageSender.ToServiceBusMessage(Reply);
        var enqueued = new DateTimeOffset(2025, 6, 1, 12, 0, 30, TimeSpan.Zero);
        var received = ServiceBusModelFactory.ServiceBusReceivedMessage(
            body: sent.Body, messageId: sent.MessageId, sessionId: sent.SessionId, contentType: sent.ContentType,
            deliveryCount: 2, enqueuedTime: enqueued, sequenceNumber: 9, lockTokenGuid: Guid.NewGuid());

        // As the host writes it (GetHttpScriptInvocationContextValue): strings serialized once more, numbers as strings.
        var invocation = new Dictionary<string, object?>
        {
            ["Data"] = new Dictionary<string, object?> { ["message"] = JsonSerializer.Serialize(received.Body.ToString()) },
            ["Metadata"] = new Dictionary<string, object?>
            {
                ["MessageId"] = JsonSerializer.Serialize(received.MessageId),
                ["SessionId"] = JsonSerializer.Serialize(received.SessionId),
                ["DeliveryCount"] = received.DeliveryCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["EnqueuedTimeUtc"] = received.EnqueuedTime.UtcDateTime.ToString("s", System.Globalization.CultureInfo.InvariantCulture),
                ["SequenceNumber"] = "9",
                ["ReplyTo"] = null,
            },
        };
        using var document = JsonDocument.Parse(JsonSerializer.Serialize(invocation));

        var message = QueueInvocation.Read(document.RootElement, "message");

        Assert.Equal(new QueueMessage(Reply.Body, Reply.MessageId, Reply.SessionId, 2, enqueued), message);
    }

    [Fact]
    public async Task Unconfigured_Send_FailsNamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new UnconfiguredMessageSender().SendAsync(Reply, TestContext.Current.CancellationToken));

        Assert.Equal(
            "Cannot send to the queue 'im-outbound': ServiceBusConnection__fullyQualifiedNamespace is not set. Set it to the Service Bus namespace host name, e.g. NAME.servicebus.windows.net.",
            error.Message);
    }

    [Theory]
    [InlineData(false, "sb-relay.servicebus.windows.net", typeof(ServiceBusMessageSender))]
    [InlineData(false, null, typeof(UnconfiguredMessageSender))]
    [InlineData(true, null, typeof(StorageQueueMessageSender))]
    [InlineData(true, "sb-relay.servicebus.windows.net", typeof(StorageQueueMessageSender))]
    public void AddMessaging_ModeAndNamespace_PicksTheSender(bool isLocal, string? ns, Type expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ServiceBusConnection:fullyQualifiedNamespace"] = ns,
        }).Build();

        var services = new ServiceCollection().AddMessaging(configuration, isLocal);

        Assert.Equal(expected, services.Single(s => s.ServiceType == typeof(IMessageSender)).ImplementationType);
    }
}
