using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Functions;
using Serverless.Tests.Infrastructure;
using Serverless.Webhooks.Messaging;
using Xunit;

namespace Serverless.Tests.Messaging;

/// <summary>
/// Local mode plays the Service Bus trigger over Azurite Storage queues: a message sent through <see cref="IMessageSender"/>
/// reaches the function through <c>POST /{Name}</c>, with sessions, redelivery, poison queue, schedule and duplicate
/// detection as Service Bus gives them. Each test runs its own handler with its own queue prefix.
/// </summary>
public sealed class LocalQueueTriggerTests(AzuriteFixture azurite)
{
    private const string Queue = "recorded";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(RelayHost Host, RecordingQueueFunction Function, IMessageSender Sender)> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var root = AppRoot.Copy();
        AppRoot.WriteFunction(root, RecordingQueueFunction.DefaultName, AppRoot.ServiceBusFunctionJson(Queue));
        var function = new RecordingQueueFunction();
        var all = new Dictionary<string, string?>
        {
            ["RELAY_APP_ROOT"] = root,
            ["LocalQueues:RetryDelay"] = "00:00:00.010", // under a second: visible again at once
            ["LocalQueues:MaxRetryDelay"] = "00:00:00.010",
            ["LocalQueues:MaxDeliveryCount"] = "3",
        };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        var host = await RelayHost.StartAsync(azurite, all, services: s => s.AddSingleton<IQueueFunction>(function));
        return (host, function, host.Services.GetRequiredService<IMessageSender>());
    }

    private static OutgoingMessage Message(string session, string id, object body) =>
        new(Queue, JsonSerializer.Serialize(body), id, session);

    private static Task<IReadOnlyList<RecordingQueueFunction.Invocation>> InvocationsAsync(RecordingQueueFunction function, int count, string awaited) =>
        Eventually.ValueAsync(awaited, _ => Task.FromResult(function.Invocations), found => found.Count >= count, found => $"{found.Count} invocation(s)");

    [Fact]
    public async Task Send_OneMessage_ArrivesThroughTheJsonProtocolWithItsBrokerProperties()
    {
        var (host, function, sender) = await StartAsync();
        await using var _ = host;

        var sent = new OutgoingMessage(Queue, """{"text":"hi \"you\" \u00e9"}""", "m-1", "chat-1");
        await sender.SendAsync(sent, Ct);

        var invocation = Assert.Single(await InvocationsAsync(function, 1, "the message"));
        Assert.Equal(sent.Body, invocation.Message.Body);
        Assert.Equal(("m-1", "chat-1", 1), (invocation.Message.MessageId, invocation.Message.SessionId, invocation.Message.DeliveryCount));
        Assert.NotNull(invocation.Message.EnqueuedTime);
        await Eventually.TrueAsync("the message deleted", async ct => (await QueueLengthAsync(host, Queue, ct)) == 0);
    }

    [Fact]
    public async Task Send_ManyMessagesOfTwoSessions_EachSessionInOrderAndNeverConcurrent()
    {
        var (host, function, sender) = await StartAsync();
        await using var _ = host;

        for (var i = 0; i < 8; i++)
        {
            await sender.SendAsync(Message("chat-a", $"a-{i}", new { n = i, sleepMs = 20 }), Ct);
            await sender.SendAsync(Message("chat-b", $"b-{i}", new { n = i, sleepMs = 20 }), Ct);
        }

        var invocations = await InvocationsAsync(function, 16, "16 messages");
        Assert.Empty(function.OverlappingSessions);
        foreach (var session in new[] { "chat-a", "chat-b" })
        {
            var order = invocations.Where(i => i.Message.SessionId == session).Select(i => JsonDocument.Parse(i.Message.Body).RootElement.GetProperty("n").GetInt32());
            Assert.Equal(Enumerable.Range(0, 8), order);
        }
    }

    [Fact]
    public async Task Send_TwoSessions_RunAtTheSameTime()
    {
        var (host, function, sender) = await StartAsync();
        await using var _ = host;

        // Each waits until the other runs: only concurrent sessions let both succeed.
        await sender.SendAsync(Message("chat-x", "x-1", new { rendezvous = true }), Ct);
        await sender.SendAsync(Message("chat-y", "y-1", new { rendezvous = true }), Ct);

        var invocations = await InvocationsAsync(function, 2, "both sessions");
        Assert.All(invocations, i => Assert.True(i.Succeeded, i.Message.SessionId));
    }

    [Theory]
    [InlineData("a")] // one byte a character, escaped nowhere
    [InlineData("\"")] // escaped in the body, and once more in the envelope
    [InlineData("漢")] // three bytes of UTF-8, escaped as \uXXXX by the body's JSON
    public async Task Fits_TheLargestMessageFitting_SentAndAFewBytesMoreRefusedByTheQueue(string character)
    {
        var (host, _, sender) = await StartAsync();
        await using var _ = host;
        OutgoingMessage Sized(int characters) => Message("chat-size", "size-" + characters, new { text = string.Concat(Enumerable.Repeat(character, characters)) }) with { Queue = "sizes" };

        // The largest text that fits, found by halving.
        int fits = 0, refused = 70_000;
        while (refused - fits > 1)
        {
            var length = (fits + refused) / 2;
            (sender.Fits(Sized(length)) ? ref fits : ref refused) = length;
        }

        // Fits measures the envelope with the longest timestamp; a real one may be up to 7 bytes shorter.
        await sender.SendAsync(Sized(fits), Ct);
        var tooLarge = await Assert.ThrowsAsync<Azure.RequestFailedException>(() => sender.SendAsync(Sized(fits + 8), Ct));

        Assert.Equal(413, tooLarge.Status);
        Assert.InRange(fits, 5_000, 65_536);
    }

    [Fact]
    public async Task Send_FunctionThrows_RedeliveredWithAHigherCountBeforeTheSessionGoesOn()
    {
        var (host, function, sender) = await StartAsync();
        await using var _ = host;

        await sender.SendAsync(Message("chat-r", "r-1", new { failUntil = 3 }), Ct);
        await sender.SendAsync(Message("chat-r", "r-2", new { n = 2 }), Ct);

        var invocations = await InvocationsAsync(function, 4, "three deliveries and the next message");
        Assert.Equal(
            [("r-1", 1, false), ("r-1", 2, false), ("r-1", 3, true), ("r-2", 1, true)],
            invocations.Select(i => (i.Message.MessageId, i.Message.DeliveryCount, i.Succeeded)));
        Assert.Empty(function.OverlappingSessions);
    }

    [Fact]
    public async Task Send_FunctionAlwaysThrows_MovedToThePoisonQueueAfterMaxDeliveries()
    {
        var (host, function, sender) = await StartAsync();
        await using var _ = host;

        await sender.SendAsync(Message("chat-p", "p-1", new { fail = true }), Ct);
        await sender.SendAsync(Message("chat-p", "p-2", new { n = 2 }), Ct);

        var invocations = await InvocationsAsync(function, 4, "three failed deliveries and the next message");
        Assert.Equal([1, 2, 3], invocations.Where(i => i.Message.MessageId == "p-1").Select(i => i.Message.DeliveryCount));
        Assert.True(invocations.Single(i => i.Message.MessageId == "p-2").Succeeded);

        var poison = new QueueClient(host.ConnectionString, (host.TablePrefix.ToLowerInvariant() + "-" + Queue + "-poison"));
        var dead = await Eventually.ValueAsync(
            "the message in the poison queue",
            async ct => (await poison.PeekMessagesAsync(10, ct)).Value,
            found => found.Length > 0,
            found => $"{found.Length} message(s)");
        var envelope = LocalQueueEnvelope.TryRead(Assert.Single(dead).MessageText);
        Assert.Equal(("p-1", "chat-p", """{"fail":true}"""), (envelope!.MessageId, envelope.SessionId, envelope.Body));
        await Eventually.TrueAsync("the source queue empty", async ct => (await QueueLengthAsync(host, Queue, ct)) == 0);
        Assert.Equal(4, function.Invocations.Count); // nothing delivered again after the poison queue
    }

    [Fact]
    public async Task Send_Scheduled_NotDeliveredBeforeItsTime()
    {
        var (host, function, sender) = await StartAsync();
        await using var _ = host;
        var at = DateTimeOffset.UtcNow.AddSeconds(2);

        await sender.SendAsync(Message("chat-s", "s-1", new { n = 1 }) with { ScheduledEnqueueTime = at }, Ct);
        await sender.SendAsync(Message("chat-t", "t-1", new { n = 2 }), Ct);

        var both = await InvocationsAsync(function, 2, "the scheduled message");
        var scheduled = both.Single(i => i.Message.MessageId == "s-1");
        Assert.True(scheduled.StartedAt >= at, $"delivered at {scheduled.StartedAt:O}, scheduled for {at:O}");
    }

    [Fact]
    public async Task Send_SameMessageIdTwice_DeliveredOnce()
    {
        var (host, function, sender) = await StartAsync();
        await using var _ = host;

        await sender.SendAsync(Message("chat-d", "d-1", new { n = 1 }), Ct);
        await sender.SendAsync(Message("chat-d", "d-1", new { n = 2 }), Ct); // a platform's retry of the same step
        await sender.SendAsync(Message("chat-d", "d-2", new { n = 3 }), Ct);

        // Same session, in order: once d-2 ran, a second d-1 would have run before it.
        var invocations = await InvocationsAsync(function, 2, "d-1 and d-2");
        Assert.Equal(["d-1", "d-2"], invocations.Select(i => i.Message.MessageId!));
        Assert.Contains("\"n\":1", invocations[0].Message.Body, StringComparison.Ordinal);
        await Eventually.TrueAsync("the queue empty", async ct => (await QueueLengthAsync(host, Queue, ct)) == 0);
        Assert.Equal(2, function.Invocations.Count);
    }

    [Fact]
    public async Task Stop_InvocationRunning_FinishesAndTheMessageIsCompleted()
    {
        var (host, function, sender) = await StartAsync();
        await sender.SendAsync(Message("chat-z", "z-1", new { sleepMs = 1500 }), Ct);
        await function.Started.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);

        await host.DisposeAsync();

        var invocation = Assert.Single(function.Invocations);
        Assert.True(invocation.Succeeded);
        var queue = new QueueClient(host.ConnectionString, host.TablePrefix.ToLowerInvariant() + "-" + Queue);
        Assert.Equal(0, (await queue.GetPropertiesAsync(Ct)).Value.ApproximateMessagesCount);
    }

    [Theory]
    [InlineData("""{"Data":{"message":"\"{\\\"n\\\":1}\""},"Metadata":{"MessageId":"\"h-1\"","SessionId":"\"chat-h\"","DeliveryCount":"1"}}""", 200)]
    [InlineData("""{"Data":{"message":{"fail":true}},"Metadata":{}}""", 500)]
    [InlineData("""{"Data":{},"Metadata":{}}""", 400)]
    [InlineData("""not json""", 400)]
    public async Task Post_HostInvocation_AnsweredInTheProtocol(string invocation, int status)
    {
        var (host, _, _) = await StartAsync();
        await using var __ = host;

        var answer = await host.SendAsync(HttpMethod.Post, RecordingQueueFunction.DefaultName, invocation, key: null, ct: Ct);

        Assert.Equal(status, answer.Status);
        Assert.Equal(JsonValueKind.Object, answer.Json.GetProperty("Outputs").ValueKind);
        Assert.Equal(status == 200 ? 0 : 1, answer.Json.GetProperty("Logs").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, answer.Json.GetProperty("ReturnValue").ValueKind);
    }

    private static async Task<int> QueueLengthAsync(RelayHost host, string queue, CancellationToken ct)
    {
        var client = new QueueClient(host.ConnectionString, host.TablePrefix.ToLowerInvariant() + "-" + queue);
        return (await client.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount;
    }
}
