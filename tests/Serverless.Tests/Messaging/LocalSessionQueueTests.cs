using System.Security.Cryptography;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Handler.FunctionsHost;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Serverless.Webhooks.Messaging;
using Xunit;

namespace Serverless.Tests.Messaging;

/// <summary>
/// <see cref="LocalSessionQueue"/> on its own, over Azurite queues, with a clock moved by hand: what it holds between
/// messages. (<see cref="LocalQueueTriggerTests"/> runs it inside the handler, for what a function sees.)
/// </summary>
public sealed class LocalSessionQueueTests(AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FailedMessageTakenElsewhere_SessionLetGoOnceItsWaitEnds_AndServedAfresh()
    {
        var name = "lsq" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var queue = new QueueClient(azurite.ConnectionString, name);
        var poison = new QueueClient(azurite.ConnectionString, name + "-poison");
        await queue.CreateAsync(cancellationToken: Ct);
        await poison.CreateAsync(cancellationToken: Ct);
        var time = new ManualTimeProvider();
        var invoked = new List<string>();
        var failedOnce = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // The first message fails, and is gone from the queue before it could come back: another receiver settled it.
        async Task<bool> InvokeAsync(QueueRegistration registration, LocalSessionQueue.Held held, CancellationToken token)
        {
            lock (invoked)
            {
                invoked.Add(held.Envelope.MessageId);
            }

            if (held.Envelope.MessageId != "m1")
            {
                return true;
            }

            await queue.DeleteMessageAsync(held.QueueMessageId, held.PopReceipt, token);
            failedOnce.TrySetResult();
            return false;
        }

        var options = new LocalQueueOptions { MaxPollInterval = TimeSpan.FromMilliseconds(10) };
        using var local = new LocalSessionQueue(
            new QueueRegistration("recorded", name, "message"), queue, poison, options, InvokeAsync, new LocalQueueWakeup(), time, NullLogger.Instance);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var running = local.RunAsync(stop.Token);
        try
        {
            await queue.SendMessageAsync(new LocalQueueEnvelope("m1", "s1", "{}", time.GetUtcNow()).Write(), Ct);
            await failedOnce.Task.WaitAsync(StorageTestKit.Timeout, Ct);
            var afterFailure = local.SessionsHeld;

            // Past the longest wait for m1 (moved on at each probe, since the wait starts once m1 is settled), the
            // session has nothing: it is let go, not kept for ever.
            await Eventually.ValueAsync(
                "the session let go",
                _ =>
                {
                    time.Advance(options.MaxRetryDelay * 3);
                    return Task.FromResult(local.SessionsHeld);
                },
                held => held == 0);

            // A later message of the same session is served as any first one.
            await queue.SendMessageAsync(new LocalQueueEnvelope("m2", "s1", "{}", time.GetUtcNow()).Write(), Ct);
            await Eventually.TrueAsync("m2 handled", _ =>
            {
                lock (invoked)
                {
                    return Task.FromResult(invoked.Contains("m2"));
                }
            });

            Assert.Equal(1, afterFailure);
            Assert.Equal(new[] { "m1", "m2" }, invoked);
            await Eventually.ValueAsync("the session let go again", _ => Task.FromResult(local.SessionsHeld), held => held == 0);
        }
        finally
        {
            await stop.CancelAsync();
            await running.WaitAsync(StorageTestKit.Timeout, CancellationToken.None);
        }
    }
}
