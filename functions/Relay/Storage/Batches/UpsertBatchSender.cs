using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Serverless.Relay.Buffers;

namespace Serverless.Relay.Storage.Batches;

/// <summary>
/// Writes an entity-group transaction of upserts (at most 100 rows of one partition) as one <c>$batch</c> request: the
/// body serialized once from the entities (<see cref="UpsertBatchBody"/>), the answer only checked for its statuses
/// (<see cref="UpsertBatchAnswer"/>). Same account, credential and transport settings as the table SDK's client.
/// </summary>
/// <remarks>
/// NOTE: why not <c>TableClient.SubmitTransactionAsync</c>. It builds a whole request object per row, serializes the
/// multipart body twice (once to compute its length) and parses every operation's response into objects: 14 % of the
/// relay's CPU per relayed request at concurrency 64 went there (usage and audit rows, bench/ANALYSIS.md). Everything
/// else the relay does with tables still goes through the SDK.
/// </remarks>
internal sealed class UpsertBatchSender
{
    private const string ApiVersion = "2019-02-02"; // the version the table SDK sends
    private const string StorageScope = "https://storage.azure.com/.default";

    // The well-known key of the storage emulator (public, in every Azure Storage SDK): what UseDevelopmentStorage=true means.
    private const string DevelopmentStorageKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly HttpPipeline _pipeline;
    private readonly string? _sas;

    private UpsertBatchSender(HttpPipeline pipeline, string? sas)
    {
        _pipeline = pipeline;
        _sas = sas;
    }

    /// <summary>A sender for the account of <paramref name="service"/>, authenticated as it is, on its connections.</summary>
    /// <param name="transport">The transport <paramref name="service"/> was built with.</param>
    /// <param name="credential">The Entra credential the service client was built with; null with a connection string.</param>
    public static UpsertBatchSender Create(StorageConnection connection, TableServiceClient service, HttpPipelineTransport transport, TokenCredential? credential)
    {
        if (connection.ConnectionString is not { } connectionString)
        {
            return new UpsertBatchSender(Pipeline(transport, new BearerTokenAuthenticationPolicy(credential!, StorageScope)), null);
        }

        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.Split('=', 2) is [var name, var value])
            {
                settings[name] = value;
            }
        }

        var key = settings.GetValueOrDefault("AccountKey")
            ?? (string.Equals(settings.GetValueOrDefault("UseDevelopmentStorage"), "true", StringComparison.OrdinalIgnoreCase) ? DevelopmentStorageKey : null);
        return key is not null
            ? new UpsertBatchSender(Pipeline(transport, new SharedKeyLitePolicy(service.AccountName, Convert.FromBase64String(key))), null)
            // A shared access signature travels in the query string.
            : new UpsertBatchSender(Pipeline(transport), settings.GetValueOrDefault("SharedAccessSignature")?.TrimStart('?'));
    }

    /// <summary>The table SDK's transport and its settings (retries, timeouts) with the account's authentication, signed on every try.</summary>
    private static HttpPipeline Pipeline(HttpPipelineTransport transport, params HttpPipelinePolicy[] authentication) =>
        HttpPipelineBuilder.Build(RelayTableClientOptions.Create(transport), authentication);

    /// <summary>Upserts <paramref name="entities"/> (one partition, distinct row keys, at most 100) into <paramref name="table"/> as one transaction.</summary>
    /// <param name="slices">How writing the body yields to the request path.</param>
    /// <exception cref="TableBatchRejectedException">The service refused a row; nothing of the batch was written.</exception>
    /// <exception cref="RequestFailedException">The service refused the request itself (auth, table missing, busy).</exception>
    public async ValueTask UpsertAsync(TableClient table, IReadOnlyList<TableRow> entities, RowSlices slices, CancellationToken cancellationToken)
    {
        var tableUri = table.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
        var batchUri = tableUri[..(tableUri.LastIndexOf('/') + 1)] + "$batch" + (_sas is null ? "" : "?" + _sas);
        var batch = "batch_" + Guid.NewGuid().ToString("N");
        // NOTE: the body outlives the message (disposed in reverse order): the transport has sent all of it once
        // SendAsync returns, and the message is done with it once disposed.
        using var body = new PooledBufferWriter(512 + (entities.Count * 1024));
        await UpsertBatchBody.WriteAsync(body, batch, "changeset_" + Guid.NewGuid().ToString("N"), tableUri, entities, slices).ConfigureAwait(false);

        using var message = _pipeline.CreateMessage();
        var request = message.Request;
        request.Method = RequestMethod.Post;
        request.Uri.Reset(new Uri(batchUri));
        request.Headers.SetValue("x-ms-version", ApiVersion);
        request.Headers.SetValue("DataServiceVersion", "3.0");
        request.Headers.SetValue("MaxDataServiceVersion", "3.0;NetFx");
        request.Headers.SetValue("Accept", "application/json;odata=minimalmetadata");
        request.Headers.SetValue("Content-Type", "multipart/mixed; boundary=" + batch);
        request.Content = RequestContent.Create(body.WrittenMemory);

        // NOTE: not buffered by the pipeline: it copies the answer into a MemoryStream grown by doubling, 8 % of the
        // relay's allocations per relayed request; the answer is read into pooled memory instead, and only scanned.
        message.BufferResponse = false;
        await _pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);

        var response = message.Response;
        var length = response.Headers.ContentLengthLong;
        using var answer = AnswerBody.Buffer(length, long.MaxValue);
        if (response.ContentStream is { } stream)
        {
            await AnswerBody.ReadAsync(stream, answer, length, long.MaxValue, cancellationToken).ConfigureAwait(false);
        }

        if (response.Status != 202)
        {
            // The exception reads the service's error from a buffered body.
            response.ContentStream = new MemoryStream(answer.WrittenMemory.ToArray(), writable: false);
            throw new RequestFailedException(response);
        }

        UpsertBatchAnswer.EnsureCommitted(answer.WrittenMemory.Span);
    }
}
