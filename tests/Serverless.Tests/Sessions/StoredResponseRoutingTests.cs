#pragma warning disable OPENAI001 // the Responses client is marked experimental
using System.ClientModel;
using Azure.Data.Tables;
using OpenAI.Responses;
using Serverless.Relay.Sessions;
using Serverless.Tests.Failover;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Sessions;

/// <summary>
/// A stored Responses answer lives with the account (OpenAI project) that made it: a request that continues it
/// (<c>previous_response_id</c>) must reach that account, or OpenAI answers 404. Two equal accounts, which round-robin
/// alternates between, through the official OpenAI SDK.
/// </summary>
public sealed class StoredResponseRoutingTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static readonly Dictionary<string, object?>[] TwoEquals = [PoolRelay.Account(), PoolRelay.Account()];

    // NOTE: about bindings, not the hot-path storage deadline (StorageOutageTests).
    private static readonly Dictionary<string, string?> PatientStorage = new() { ["Storage:HotPathTimeout"] = "00:00:10" };

    private static ResponsesClient Client(PoolRelay pool) =>
        new(new ApiKeyCredential(pool.Key), new ResponsesClientOptions { Endpoint = new Uri(pool.Host.BaseUri, "v1"), NetworkTimeout = Timeout, RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) });

    [Fact]
    public async Task Relay_EachTurnContinuesTheLastAnswer_EveryTurnReachesTheAccountThatMadeIt()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoEquals, PatientStorage);
        var client = Client(pool);
        var ct = TestContext.Current.CancellationToken;

        // Each turn says something new, so only the stored answer it continues ties it to the last (its own text would
        // make a new session every turn, which round-robin spreads).
        var answers = new List<string>();
        for (var turn = 0; turn < 6; turn++)
        {
            var options = new CreateResponseOptions("m", [ResponseItem.CreateUserMessageItem($"turn {turn}: {Guid.NewGuid():N}")]) { PreviousResponseId = answers.LastOrDefault() };
            answers.Add(turn % 2 == 0 ? await CreateAsync(client, options, ct) : await StreamAsync(client, options, ct));
        }

        Assert.Contains(6, new[] { pool.Hits(0), pool.Hits(1) });
        var served = pool.Upstreams[pool.Hits(0) == 6 ? 0 : 1].Requests;
        for (var turn = 1; turn < 6; turn++)
        {
            Assert.Equal(answers[turn - 1], served[turn].Json.GetProperty("previous_response_id").GetString());
        }
    }

    [Fact]
    public async Task Relay_AnswerNotStored_NoBindingForItsId()
    {
        await using var pool = await PoolRelay.StartAsync(azurite, TwoEquals, PatientStorage);
        var client = Client(pool);
        var ct = TestContext.Current.CancellationToken;

        var unstored = await CreateAsync(client, new CreateResponseOptions("m", [ResponseItem.CreateUserMessageItem("a " + Guid.NewGuid().ToString("N"))]) { StoredOutputEnabled = false }, ct);
        var stored = await CreateAsync(client, new CreateResponseOptions("m", [ResponseItem.CreateUserMessageItem("b " + Guid.NewGuid().ToString("N"))]), ct);

        // Bindings are written in the background, the unstored answer's first had there been one.
        var sessions = pool.Host.Table("sessions");
        var storedKey = SessionKey.Of(pool.KeyId, "m", SessionKey.Continuing(stored));
        await Eventually.TrueAsync("the stored answer's binding", async token => (await sessions.GetEntityIfExistsAsync<TableEntity>(storedKey[..2], storedKey, cancellationToken: token)).HasValue);
        var unstoredKey = SessionKey.Of(pool.KeyId, "m", SessionKey.Continuing(unstored));
        Assert.False((await sessions.GetEntityIfExistsAsync<TableEntity>(unstoredKey[..2], unstoredKey, cancellationToken: ct)).HasValue);
    }

    private static async Task<string> CreateAsync(ResponsesClient client, CreateResponseOptions options, CancellationToken ct)
    {
        options.StreamingEnabled = false;
        return (await client.CreateResponseAsync(options, ct).WaitAsync(Timeout, ct)).Value.Id;
    }

    private static async Task<string> StreamAsync(ResponsesClient client, CreateResponseOptions options, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        options.StreamingEnabled = true;
        string? id = null;
        await foreach (var update in await client.CreateResponseStreamingAsync(options, timeout.Token))
        {
            if (update is StreamingResponseCompletedUpdate done)
            {
                id = done.Response.Id;
            }
        }

        return id ?? throw new InvalidOperationException("the stream ended without response.completed");
    }
}
