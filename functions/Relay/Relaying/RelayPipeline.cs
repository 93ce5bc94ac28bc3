using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Sse;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.Pricing;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The request path of every chat API: authenticate, parse, route, call the upstream (passing the body through
/// untouched when both sides speak the same format), relay the answer or stream, and meter it.
/// </summary>
internal sealed partial class RelayPipeline(
    ClientAuthenticator authenticator,
    AccountRouter router,
    UpstreamHttp http,
    IUsageSink usageSink,
    KeyLimiter limiter,
    PriceBook prices,
    IOptions<RelayOptions> options,
    TimeProvider time,
    ILogger<RelayPipeline> logger)
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    public async Task RelayAsync(HttpContext context, ClientApi api, string? modelFromPath = null, bool streamFromPath = false)
    {
        var cancellationToken = context.RequestAborted;

        // 1. Who is calling.
        var (key, authError) = await authenticator.AuthenticateAsync(context.Request, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            await RelayResults.WriteErrorAsync(context, api.Format, authError!).ConfigureAwait(false);
            return;
        }

        var trace = new UsageTrace(api, key, time) { RequestedModel = modelFromPath ?? "" };
        context.Response.Headers["x-request-id"] = trace.RequestId;
        int status;
        string? error;
        try
        {
            (status, error) = await RelayForKeyAsync(context, api, trace, modelFromPath, streamFromPath).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            (status, error) = (StatusCodes.Status499ClientClosedRequest, "client closed the request");
        }
        catch
        {
            // A bug's exception must not keep the key's concurrency slot; recording below releases it on every other path.
            trace.Lease.Dispose();
            throw;
        }

        trace.Record(usageSink, await prices.GetAsync(CancellationToken.None).ConfigureAwait(false), status, error);
    }

    private async Task<(int Status, string? Error)> RelayForKeyAsync(HttpContext context, ClientApi api, UsageTrace trace, string? modelFromPath, bool streamFromPath)
    {
        var cancellationToken = context.RequestAborted;

        // 2. What is asked.
        var (body, bodyError) = await RequestBody.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
        if (bodyError is not null)
        {
            return await FailAsync(context, api, bodyError).ConfigureAwait(false);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            return await FailAsync(context, api, RelayError.Invalid($"Request body is not valid JSON: {e.Message}")).ConfigureAwait(false);
        }

        using (document)
        {
            var parsed = api.Format.ReadRequest(document.RootElement, modelFromPath, streamFromPath);
            if (!parsed.IsSuccess)
            {
                return await FailAsync(context, api, parsed.Error!).ConfigureAwait(false);
            }

            var request = parsed.Value!;
            trace.RequestedModel = request.Model;
            trace.Stream = request.Stream;

            // 3. Who may serve it.
            if (!trace.Key.AllowsModel(request.Model))
            {
                return await FailAsync(context, api, new RelayError(ErrorKind.PermissionDenied, $"This API key may not use model '{request.Model}'.", "model")).ConfigureAwait(false);
            }

            // 3b. Within its limits: the lease holds a concurrency slot and reserved tokens until the request is recorded.
            trace.Lease = await limiter.AcquireAsync(trace.Key, request, cancellationToken).ConfigureAwait(false);
            LimitHeaders.Write(context.Response, api.Format.Format, trace.Lease, time.GetUtcNow());
            if (!trace.Lease.IsAcquired)
            {
                return await FailAsync(context, api, trace.Lease.ToError()).ConfigureAwait(false);
            }

            var candidates = await router.CandidatesAsync(request.Model, cancellationToken).ConfigureAwait(false);
            if (candidates.Count == 0)
            {
                return await FailAsync(context, api, new RelayError(ErrorKind.NotFound, $"The model '{request.Model}' does not exist or is not served by this relay.", "model")).ConfigureAwait(false);
            }

            // 4. Call it.
            return await CallAsync(context, api, trace, request, body, candidates[0]).ConfigureAwait(false);
        }
    }

    private async Task<(int Status, string? Error)> CallAsync(HttpContext context, ClientApi api, UsageTrace trace, ChatRequest request, ReadOnlyMemory<byte> body, UpstreamAccount account)
    {
        var clientAborted = context.RequestAborted;
        var provider = ProviderRegistry.For(account.Provider);
        var upstreamFormat = provider.UpstreamFormat(api.Format.Format);
        var upstreamModel = account.UpstreamModelFor(request.Model);
        var passthrough = upstreamFormat.Format == api.Format.Format;
        trace.Account = account;
        trace.UpstreamModel = upstreamModel;

        var (content, hideUsageChunk) = passthrough
            ? PassthroughBody(api.Format.Format, request, body, upstreamModel)
            : (TranslatedBody(request, upstreamFormat, upstreamModel), false);

        using var message = new HttpRequestMessage(HttpMethod.Post, provider.ChatEndpoint(account, upstreamFormat, upstreamModel, request.Stream)) { Content = content };
        provider.Authorize(message, account, context.Request);
        if (request.Stream)
        {
            message.Headers.Accept.ParseAdd("text/event-stream");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(clientAborted);
        deadline.CancelAfter(options.Value.ResponseTimeout);
        HttpResponseMessage response;
        try
        {
            response = await http.Client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!clientAborted.IsCancellationRequested)
        {
            return await FailAsync(context, api, new RelayError(ErrorKind.Timeout, $"The upstream did not answer within {options.Value.ResponseTimeout.TotalSeconds:0} s.")).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            Log.UpstreamUnreachable(logger, account.Id, e.HttpRequestError.ToString());
            return await FailAsync(context, api, new RelayError(ErrorKind.Upstream, $"Could not reach the upstream {account.Provider.WireName()} ({e.HttpRequestError}).")).ConfigureAwait(false);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                return await RelayUpstreamErrorAsync(context, api, account, upstreamFormat, passthrough, response, deadline.Token).ConfigureAwait(false);
            }

            try
            {
                return request.Stream
                    ? await StreamAsync(context, api, trace, request, upstreamFormat, passthrough, hideUsageChunk, response).ConfigureAwait(false)
                    : await AnswerAsync(context, api, trace, upstreamFormat, passthrough, response, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!clientAborted.IsCancellationRequested && !context.Response.HasStarted)
            {
                return await FailAsync(context, api, new RelayError(ErrorKind.Timeout, $"The upstream did not answer within {options.Value.ResponseTimeout.TotalSeconds:0} s.")).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A complete (non-streamed) answer.</summary>
    private static async Task<(int Status, string? Error)> AnswerAsync(HttpContext context, ClientApi api, UsageTrace trace, IChatFormat upstreamFormat, bool passthrough, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        ChatResponse? answer = null;
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var parsed = upstreamFormat.ReadResponse(document.RootElement);
            if (parsed.IsSuccess)
            {
                answer = parsed.Value!;
            }
            else if (!passthrough)
            {
                return await FailAsync(context, api, new RelayError(ErrorKind.Upstream, "The upstream answer could not be read: " + parsed.Error!.Message)).ConfigureAwait(false);
            }
        }
        catch (JsonException) when (!passthrough)
        {
            return await FailAsync(context, api, new RelayError(ErrorKind.Upstream, "The upstream answer is not valid JSON.")).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            // A same-format answer is relayed as it came even when the relay cannot read its usage.
        }

        if (answer is not null)
        {
            trace.Usage.Add(UsageReport.From(answer.Usage));
        }

        trace.FirstByteSent();
        if (passthrough)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            await RelayResults.WriteJsonAsync(context, StatusCodes.Status200OK, writer => api.Format.WriteResponse(answer!, writer)).ConfigureAwait(false);
        }

        return (StatusCodes.Status200OK, null);
    }

    /// <summary>
    /// Relays a stream event by event: each upstream event is decoded (for usage, and for translation), written in the
    /// client's format and flushed before the next is read, so nothing is held back.
    /// </summary>
    private async Task<(int Status, string? Error)> StreamAsync(HttpContext context, ClientApi api, UsageTrace trace, ChatRequest request, IChatFormat upstreamFormat, bool passthrough, bool hideUsageChunk, HttpResponseMessage response)
    {
        var clientAborted = context.RequestAborted;
        var clientResponse = context.Response;
        clientResponse.StatusCode = StatusCodes.Status200OK;
        clientResponse.ContentType = "text/event-stream; charset=utf-8";
        clientResponse.Headers.CacheControl = "no-cache";
        clientResponse.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var output = clientResponse.BodyWriter;
        var decoder = upstreamFormat.CreateStreamDecoder();
        var encoder = passthrough ? null : api.Format.CreateStreamEncoder(request);
        var events = new List<StreamEvent>(8);
        var idle = options.Value.StreamIdleTimeout;
        RelayError? failure = null;

        using var idleTimer = CancellationTokenSource.CreateLinkedTokenSource(clientAborted);
        await using var upstream = await response.Content.ReadAsStreamAsync(clientAborted).ConfigureAwait(false);
        await using var reader = new SseReader(upstream);
        try
        {
            while (failure is null)
            {
                idleTimer.CancelAfter(idle);
                var sse = await reader.ReadAsync(idleTimer.Token).ConfigureAwait(false);
                events.Clear();
                if (sse is null)
                {
                    failure = decoder.Complete(events);
                    WriteEvents(events, encoder, output, trace);
                    break;
                }

                failure = decoder.Decode(sse.Value, events);
                var usageOnly = AccumulateUsage(events, trace);
                if (passthrough)
                {
                    // The relay asked for usage the client did not: that chunk is the relay's, not the client's.
                    if (!(hideUsageChunk && usageOnly))
                    {
                        output.Write(reader.RawFrame.Span);
                    }

                    if (failure is not null)
                    {
                        // The upstream's own error event, already in the client's format, has been relayed.
                        await output.FlushAsync(clientAborted).ConfigureAwait(false);
                        return (StatusCodes.Status502BadGateway, failure.Message);
                    }
                }
                else
                {
                    WriteEvents(events, encoder, output, trace);
                }

                if (output.UnflushedBytes > 0)
                {
                    trace.FirstByteSent();
                    await output.FlushAsync(clientAborted).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (!clientAborted.IsCancellationRequested)
        {
            failure = new RelayError(ErrorKind.Timeout, $"The upstream stream sent nothing for {idle.TotalSeconds:0} s.");
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !clientAborted.IsCancellationRequested)
        {
            failure = new RelayError(ErrorKind.Upstream, "The upstream stream broke off: " + e.Message);
        }

        if (failure is null)
        {
            return (StatusCodes.Status200OK, null);
        }

        // After the first byte there is no status code left to set: the stream ends with an error event in the client's format.
        (encoder ?? api.Format.CreateStreamEncoder(request)).WriteError(failure, output);
        trace.FirstByteSent();
        await output.FlushAsync(clientAborted).ConfigureAwait(false);
        return (api.Format.StatusCodeOf(failure), failure.Message);
    }

    private static void WriteEvents(List<StreamEvent> events, IStreamEncoder? encoder, IBufferWriter<byte> output, UsageTrace trace)
    {
        if (encoder is null)
        {
            return;
        }

        foreach (var streamEvent in events)
        {
            encoder.Write(streamEvent, output);
        }
    }

    /// <summary>Feeds usage to the trace; true when the event carried nothing but usage.</summary>
    private static bool AccumulateUsage(List<StreamEvent> events, UsageTrace trace)
    {
        var usageOnly = events.Count > 0;
        foreach (var streamEvent in events)
        {
            if (streamEvent is UsageReported reported)
            {
                trace.Usage.Add(reported.Usage);
            }
            else
            {
                usageOnly = false;
            }
        }

        return usageOnly;
    }

    private async Task<(int Status, string? Error)> RelayUpstreamErrorAsync(HttpContext context, ClientApi api, UpstreamAccount account, IChatFormat upstreamFormat, bool passthrough, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var body = await ReadBoundedAsync(response.Content, RelayLimits.MaxErrorBodyBytes, cancellationToken).ConfigureAwait(false);
        var retryAfter = response.Headers.RetryAfter?.Delta
            ?? (response.Headers.RetryAfter?.Date is { } date ? date - time.GetUtcNow() : null);
        Log.UpstreamRefused(logger, account.Id, status);

        if (passthrough && status is not (401 or 403))
        {
            // Same format: the client gets exactly what the upstream said.
            context.Response.StatusCode = status;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
            if (retryAfter is { } wait)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            await context.Response.Body.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
            return (status, $"upstream {status}");
        }

        var error = UpstreamErrors.FromStatus(status, body.Span, upstreamFormat, account, retryAfter);
        return await FailAsync(context, api, error).ConfigureAwait(false);
    }

    private static async Task<(int Status, string? Error)> FailAsync(HttpContext context, ClientApi api, RelayError error)
    {
        await RelayResults.WriteErrorAsync(context, api.Format, error).ConfigureAwait(false);
        return (api.Format.StatusCodeOf(error), error.Message);
    }

    /// <summary>
    /// The client's bytes as they came, so upstream prompt caching and every field the relay does not model survive.
    /// Only two things may change: the model name (a model map), and OpenAI's <c>stream_options.include_usage</c>,
    /// which the relay needs to meter a stream; the usage chunk it adds is then hidden from the client.
    /// </summary>
    private static (HttpContent Content, bool HideUsageChunk) PassthroughBody(WireFormat format, ChatRequest request, ReadOnlyMemory<byte> body, string upstreamModel)
    {
        var renameModel = format != WireFormat.Gemini && !string.Equals(upstreamModel, request.Model, StringComparison.Ordinal);
        var addUsage = format == WireFormat.OpenAIChat && request.Stream && !request.StreamUsage;
        if (!renameModel && !addUsage)
        {
            return (new ReadOnlyMemoryContent(body) { Headers = { ContentType = JsonContentType } }, false);
        }

        var json = JsonNode.Parse(body.Span)!.AsObject();
        if (renameModel)
        {
            json["model"] = upstreamModel;
        }

        if (addUsage)
        {
            var streamOptions = json["stream_options"] as JsonObject ?? [];
            streamOptions["include_usage"] = true;
            json["stream_options"] = streamOptions;
        }

        return (new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(json)) { Headers = { ContentType = JsonContentType } }, addUsage);
    }

    private static ByteArrayContent TranslatedBody(ChatRequest request, IChatFormat upstreamFormat, string upstreamModel)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, SseWriter.JsonWriterOptions))
        {
            upstreamFormat.WriteRequest(request, upstreamModel, writer);
        }

        return new ByteArrayContent(buffer.WrittenSpan.ToArray()) { Headers = { ContentType = JsonContentType } };
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBoundedAsync(HttpContent content, int limit, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[limit];
        var total = 0;
        int read;
        while (total < limit && (read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
        }

        return buffer.AsMemory(0, total);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Upstream account {AccountId} unreachable: {Reason}")]
        public static partial void UpstreamUnreachable(ILogger logger, string accountId, string reason);

        [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Upstream account {AccountId} answered {Status}")]
        public static partial void UpstreamRefused(ILogger logger, string accountId, int status);
    }
}
