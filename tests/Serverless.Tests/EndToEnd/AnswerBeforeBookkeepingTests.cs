using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Metering;
using Serverless.Relay.Storage;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// Issue 11, "nothing on the hot path waits for what it need not": a whole answer, a stream's end included, reaches the
/// client before the relay makes the request's usage row, with the key's limits already settled (a key allowed one
/// request at a time may send its next one at once); every row is still made, once, with the answer's usage.
/// </summary>
public sealed class AnswerBeforeBookkeepingTests(AzuriteFixture azurite)
{
    // The client must have its answer well within the time a row is held, so that an answer that waited for the row fails.
    private static readonly TimeSpan HoldAtMost = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ReadWithin = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A usage sink that holds every row (simulated: a stalled recording) until the test lets them through, then
    /// hands them to the relay's own writer.
    /// </summary>
    /// <remarks>
    /// NOTE: opened, never disposed: a relay thread may still be returning from its wait when the test ends, and a
    /// task needs no disposal, where a disposed event would fail that thread.
    /// </remarks>
    private sealed class HeldUsageSink(IUsageSink writer) : IUsageSink
    {
        private readonly TaskCompletionSource _open = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _waiting;

        public int Waiting => Volatile.Read(ref _waiting);

        public bool Backlogged => writer.Backlogged;

        public bool AuditBacklogged => writer.AuditBacklogged;

        public void Record(UsageRecord record)
        {
            Interlocked.Increment(ref _waiting);
            _open.Task.Wait(HoldAtMost);
            Interlocked.Decrement(ref _waiting);
            writer.Record(record);
        }

        public void Open() => _open.TrySetResult();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Relay_RowsHeldBack_ClientReadsEachWholeAnswer_AndAKeyOfOneAtATimeSendsItsNext_ThenEveryRowIsWritten(bool stream)
    {
        var ct = TestContext.Current.CancellationToken;
        HeldUsageSink? held = null;
        await using var relay = await RelayHost.StartAsync(azurite, services: services =>
            services.AddSingleton<IUsageSink>(provider => held = new HeldUsageSink(provider.GetRequiredService<UsageWriter>())));
        await using var upstream = await LoopbackUpstream.StartAsync(ct);
        await relay.CreateLoopbackAccountAsync(upstream, "openai", ["m"]);
        var (keyId, key) = await relay.CreateKeyWithIdAsync(new { name = "one at a time", limits = new { maxConcurrency = 1 } });
        try
        {
            var chat = $$"""{"model":"m","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""";
            for (var sent = 1; sent <= 2; sent++)
            {
                // A client of its own each: the server reads a connection's next request once its handler has returned.
                // Reading to the end takes a stream's last chunk, which the server writes when the response completes.
                using var http = relay.CreateClient();
                using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(chat, Encoding.UTF8, "application/json") };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).WaitAsync(ReadWithin, ct);
                var body = await response.Content.ReadAsStringAsync(ct).WaitAsync(ReadWithin, ct);

                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Contains(stream ? "data: [DONE]" : "\"choices\"", body, StringComparison.Ordinal);
                await Eventually.TrueAsync($"{sent} rows held in the sink", _ => Task.FromResult(held!.Waiting == sent), ReadWithin);
            }

            Assert.Empty(await Eventually.ReadPartitionAsync(relay.Table(RelayTables.Usage), keyId, ct));

            held!.Open();
            var rows = await relay.UsageRowsAsync(keyId, 2, TimeSpan.FromSeconds(30));
            Assert.Equal(2, rows.Count);
            Assert.All(rows, row =>
            {
                Assert.Equal(200, row.GetInt32("Status"));
                Assert.Equal(stream, row.GetBoolean("Stream"));
                Assert.True(row.GetInt64("OutputTokens") > 0);
            });
        }
        finally
        {
            held?.Open();
        }
    }
}
