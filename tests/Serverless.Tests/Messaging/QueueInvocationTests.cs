using System.Text.Json;
using Serverless.Handler.FunctionsHost;
using Serverless.Relay.Functions;
using Serverless.Webhooks.Messaging;
using Xunit;

namespace Serverless.Tests.Messaging;

/// <summary>Reading a Service Bus invocation of the JSON protocol in the forms the Functions host sends it.</summary>
public sealed class QueueInvocationTests
{
    private static QueueMessage Read(string invocation)
    {
        using var document = JsonDocument.Parse(invocation);
        return QueueInvocation.Read(document.RootElement, "message");
    }

    [Theory]
    // As the host sends a JSON body: a JSON string holding the object's text.
    [InlineData("""{"Data":{"message":"{\"a\":1}"},"Metadata":{}}""")]
    // JsonConvert.SerializeObject(string) once more: the string holds a quoted string.
    [InlineData("""{"Data":{"message":"\"{\\\"a\\\":1}\""},"Metadata":{}}""")]
    // An object, had the host parsed it.
    [InlineData("""{"Data":{"message":{"a":1}},"Metadata":{}}""")]
    public void Read_BodyEncodedOnceTwiceOrAsAnObject_IsTheObjectsText(string invocation)
    {
        var message = Read(invocation);

        Assert.Equal(1, JsonDocument.Parse(message.Body).RootElement.GetProperty("a").GetInt32());
    }

    [Fact]
    public void Read_HostMetadataWithNullsAndUnknownFields_ReadsTheBrokerProperties()
    {
        // The names ServiceBusTriggerBindingStrategy binds; strings JSON-serialized, numbers as strings, nulls left in.
        var message = Read("""
            {"Data":{"message":"{\"x\":true}"},
             "Metadata":{
               "MessageId":"\"m-1\"","SessionId":"\"chat-9\"","DeliveryCount":"3",
               "EnqueuedTimeUtc":"2025-03-04T05:06:07","EnqueuedTime":"2025-03-04T05:06:07+00:00",
               "ExpiresAtUtc":"9999-12-31T23:59:59","LockToken":"\"8a0a…\"","SequenceNumber":"17","ContentType":"\"application/json\"",
               "DeadLetterSource":null,"ReplyTo":null,"To":null,"Subject":null,"Label":null,"CorrelationId":null,
               "ApplicationProperties":{},"UserProperties":{},"PartitionKey":null,"TransactionPartitionKey":null,"ReplyToSessionId":null,
               "MessageReceiver":{},"MessageSession":{},"sys":{"MethodName":"ImProcess","UtcNow":"2025-03-04T05:06:08Z","RandGuid":"x"}}}
            """);

        Assert.Equal(new QueueMessage("""{"x":true}""", "m-1", "chat-9", 3, new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero)), message);
    }

    [Fact]
    public void Read_MetadataAsPlainValues_ReadsThemToo()
    {
        var message = Read("""{"Data":{"message":"{}"},"Metadata":{"messageId":"m-2","sessionId":"s","deliveryCount":2,"EnqueuedTimeUtc":"2025-03-04T05:06:07"}}""");

        Assert.Equal(new QueueMessage("{}", "m-2", "s", 2, new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero)), message);
    }

    [Theory]
    [InlineData("""{"Data":{"message":"{}"}}""")]
    [InlineData("""{"Data":{"message":"{}"},"Metadata":null}""")]
    [InlineData("""{"Data":{"message":"{}"},"Metadata":{"MessageId":null,"SessionId":null,"DeliveryCount":null,"EnqueuedTime":null}}""")]
    [InlineData("""{"Data":{"message":"{}"},"Metadata":{"DeliveryCount":"many","EnqueuedTime":"yesterday"}}""")]
    public void Read_MetadataMissingNullOrUnreadable_LeavesThePropertiesUnknown(string invocation)
    {
        Assert.Equal(new QueueMessage("{}", null, null, 0, null), Read(invocation));
    }

    [Theory]
    [InlineData("""{"Metadata":{}}""")]
    [InlineData("""{"Data":{},"Metadata":{}}""")]
    [InlineData("""{"Data":{"message":null}}""")]
    [InlineData("""{"Data":{"other":"{}"}}""")]
    public void Read_NoBody_ThrowsSoTheInvocationIsAnswered400(string invocation)
    {
        var error = Assert.Throws<JsonException>(() => Read(invocation));

        Assert.Equal("Data.message (the message body) is missing", error.Message);
    }

    [Fact]
    public void LocalInvocationRequest_ReadBack_GivesTheEnvelopesMessage()
    {
        // The local trigger writes what the host would; reading it is the hosted reading.
        var envelope = new LocalQueueEnvelope("m-3", "chat-1", """{"text":"hi \"there\""}""", new DateTimeOffset(2025, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));

        var request = LocalInvocationRequest.Write(new QueueRegistration("ImProcess", "im-inbound", "message"), envelope, 4, DateTimeOffset.UtcNow);
        using var document = JsonDocument.Parse(request);

        Assert.Equal(JsonValueKind.String, document.RootElement.GetProperty("Data").GetProperty("message").ValueKind);
        Assert.Equal("\"m-3\"", document.RootElement.GetProperty("Metadata").GetProperty("MessageId").GetString());
        Assert.Equal(new QueueMessage(envelope.Body, "m-3", "chat-1", 4, envelope.EnqueuedTime), QueueInvocation.Read(document.RootElement, "message"));
    }

    [Fact]
    public void TimerRead_ScheduleStatusAsADoubleEncodedString_ReadsIt()
    {
        using var document = JsonDocument.Parse("""{"Data":{"timer":"{\"IsPastDue\":true,\"ScheduleStatus\":{\"Last\":\"2025-01-01T00:00:00Z\",\"Next\":\"2025-01-01T00:05:00Z\"}}"}}""");

        var timer = TimerInvocation.Read(document.RootElement, "timer");

        Assert.Equal(new TimerInfo(true, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2025, 1, 1, 0, 5, 0, TimeSpan.Zero)), timer);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5123", "http://127.0.0.1:5123/")]
    [InlineData("http://localhost:7071", "http://127.0.0.1:7071/")]
    [InlineData("http://[::]:8080", "http://127.0.0.1:8080/")]
    [InlineData("http://+:80", "http://127.0.0.1:80/")]
    [InlineData("http://[::1]:81", "http://[::1]:81/")]
    public void HandlerAddress_KestrelAddress_IsLoopbackOnItsPort(string address, string expected)
    {
        Assert.Equal(new Uri(expected), LocalServiceBusQueues.HandlerAddress([address]));
    }
}
