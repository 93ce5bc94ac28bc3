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
using Serverless.Relay.Failover;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Sse;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.OAuth;
using Serverless.Relay.Pricing;
using Serverless.Relay.Providers;
using Serverless.Relay.Sessions;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The request path of every chat API: authenticate, parse, schedule (sticky session first), call the upstream
/// (passing the body through untouched when both sides speak the same format) failing over to the next account until
/// the first byte, relay the answer or stream, and meter it.
/// </summary>
internal sealed partial class RelayPipeline(
    ClientAuthenticator authenticator,
    AccountScheduler scheduler,
    SessionBindings sessions,
    FailoverExecutor failover,
    AccountHealth health,
    OAuthTokens oauth,
    UpstreamHttp http,
    IUsageSink usageSink,
    KeyLimiter limiter,
    PriceBook prices,
    IOptions<RelayOptions> options,
    IOptions<FailoverOptions> failoverOptions,
    TimeProvider time,
    ILogger<RelayPipeline> logger)
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    /// <param name="jsonArrayStream">Gemini without <c>alt=sse</c>: stream one JSON array instead of SSE.</param>
    public async Task RelayAsync(HttpContext context, ClientApi api, string? modelFromPath = null, bool streamFromPath = false, bool jsonArrayStream = false)
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
            (status, error) = await RelayForKeyAsync(context, api, trace, modelFromPath, streamFromPath, jsonArrayStream).ConfigureAwait(false);
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

    private async Task<(int Status, string? Error)> RelayForKeyAsync(HttpContext context, ClientApi api, UsageTrace trace, string? modelFromPath, bool streamFromPath, bool jsonArrayStream)
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

            // A conversation keeps its account while that account is available (upstream prompt caches keep hitting).
            SessionBinding? session = null;
            if (sessions.Enabled && SessionKey.Of(context.Request, trace.Key.Id, request, document.RootElement) is { } sessionKey)
            {
                session = await sessions.ResolveAsync(sessionKey, cancellationToken).ConfigureAwait(false);
            }

            var plan = await scheduler.PlanAsync(request.Model, session?.AccountId, cancellationToken).ConfigureAwait(false);
            if (plan.Matched == 0)
            {
                return await FailAsync(context, api, new RelayError(ErrorKind.NotFound, $"The model '{request.Model}' does not exist or is not served by this relay.", "model")).ConfigureAwait(false);
            }

            // 4. Call it, failing over to the next candidate until the first byte.
            return await CallAsync(context, api, trace, request, body, plan, session, jsonArrayStream).ConfigureAwait(false);
        }
    }

    private async Task<(int Status, string? Error)> CallAsync(HttpContext context, ClientApi api, UsageTrace trace, ChatRequest request, ReadOnlyMemory<byte> body, SchedulePlan plan, SessionBinding? session, bool jsonArrayStream)
    {
        var clientAborted = context.RequestAborted;
        var result = await failover.ExecuteAsync(plan, (candidate, token) => AttemptAsync(context, api, request, body, candidate, token), clientAborted).ConfigureAwait(false);
        if (result.Success is { } success)
        {
            using (success)
            {
                var account = success.Candidate.Account;
                trace.Account = account;
                trace.UpstreamModel = success.Candidate.UpstreamModel;
                if (session is not null)
                {
                    sessions.Bind(session, account.Id);
                }

                var upstreamFormat = ProviderRegistry.For(account.Provider).UpstreamFormat(api.Format.Format);
                var passthrough = upstreamFormat.Format == api.Format.Format;
                if (!request.Stream)
                {
                    return await AnswerAsync(context, api, trace, upstreamFormat, passthrough, success).ConfigureAwait(false);
                }

                var hideUsageChunk = passthrough && api.Format.Format == WireFormat.OpenAIChat && !request.StreamUsage;
                var streamed = await StreamAsync(context, api, trace, request, upstreamFormat, passthrough, hideUsageChunk, jsonArrayStream, success.Response!).ConfigureAwait(false);
                if (streamed.Failure is { } failure)
                {
                    // After the first byte there is no retry, but the account is still marked for what it did.
                    health.ReportFailure(account.Id, failure, streamed.Error ?? "the stream failed");
                }

                return (streamed.Status, streamed.Error);
            }
        }

        using var last = result.LastFailure;
        if (last is null)
        {
            // Accounts match, but none could even be tried: all cooling down, circuit-open, disabled or at their cap.
            return await FailAsync(context, api, plan.NothingAvailable(request.Model)).ConfigureAwait(false);
        }

        trace.Account = last.Candidate.Account;
        trace.UpstreamModel = last.Candidate.UpstreamModel;
        if (last.Error is { } error)
        {
            return await FailAsync(context, api, error).ConfigureAwait(false);
        }

        return await RelayUpstreamErrorAsync(context, api, last).ConfigureAwait(false);
    }

    /// <summary>
    /// One call to one account, returned as a value whatever happens upstream. Everything here is before the first byte
    /// reaches the client, so any failure may be retried on another account; a non-streamed answer is read whole here
    /// for the same reason.
    /// </summary>
    private async ValueTask<UpstreamAttempt> AttemptAsync(HttpContext context, ClientApi api, ChatRequest request, ReadOnlyMemory<byte> body, Candidate candidate, CancellationToken cancellationToken)
    {
        var account = candidate.Account;
        if (account.OAuth is not null)
        {
            // A token near expiry is refreshed first (once per account, across instances); failing that, next account.
            var token = await oauth.GetAccessTokenAsync(account, cancellationToken).ConfigureAwait(false);
            if (!token.IsSuccess)
            {
                return UpstreamAttempt.Broken(candidate, FailureKind.TokenRefreshFailed, new RelayError(ErrorKind.Upstream, $"The upstream account '{account.Name}' has no valid OAuth token: {token.Error}"));
            }

            account = account with { AccessToken = token.AccessToken };
        }

        var provider = ProviderRegistry.For(account.Provider);
        var upstreamFormat = provider.UpstreamFormat(api.Format.Format);
        var upstreamModel = candidate.UpstreamModel;
        var passthrough = upstreamFormat.Format == api.Format.Format;

        var (content, _) = passthrough
            ? PassthroughBody(api.Format.Format, request, body, upstreamModel)
            : (TranslatedBody(request, upstreamFormat, upstreamModel), false);

        using var message = new HttpRequestMessage(HttpMethod.Post, provider.ChatEndpoint(account, upstreamFormat, upstreamModel, request.Stream)) { Content = content };
        provider.Authorize(message, account, context.Request);
        if (request.Stream)
        {
            message.Headers.Accept.ParseAdd("text/event-stream");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Value.ResponseTimeout);
        HttpResponseMessage? response = null;
        try
        {
            response = await http.Client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                using (response)
                {
                    var status = (int)response.StatusCode;
                    var errorBody = await ReadBoundedAsync(response.Content, RelayLimits.MaxErrorBodyBytes, deadline.Token).ConfigureAwait(false);
                    var retryAfter = response.Headers.RetryAfter?.Delta
                        ?? (response.Headers.RetryAfter?.Date is { } date ? date - time.GetUtcNow() : null);
                    Log.UpstreamRefused(logger, account.Id, status);
                    return UpstreamAttempt.Refused(candidate, status, errorBody, response.Content.Headers.ContentType?.ToString(), retryAfter);
                }
            }

            if (request.Stream)
            {
                return UpstreamAttempt.Answered(candidate, response);
            }

            var bytes = await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
            return UpstreamAttempt.Answered(candidate, response, bytes);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            response?.Dispose();
            var seconds = Math.Min(options.Value.ResponseTimeout.TotalSeconds, failoverOptions.Value.AttemptTimeout.TotalSeconds);
            return UpstreamAttempt.Broken(candidate, FailureKind.Timeout, new RelayError(ErrorKind.Timeout, $"The upstream did not answer within {seconds:0.#} s."));
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !context.RequestAborted.IsCancellationRequested)
        {
            response?.Dispose();
            var reason = e is HttpRequestException h ? h.HttpRequestError.ToString() : "connection reset";
            Log.UpstreamUnreachable(logger, account.Id, reason);
            return UpstreamAttempt.Broken(candidate, FailureKind.Unreachable, new RelayError(ErrorKind.Upstream, $"Could not reach the upstream {account.Provider.WireName()} ({reason})."));
        }
    }

    /// <summary>A complete (non-streamed) answer.</summary>
    private static async Task<(int Status, string? Error)> AnswerAsync(HttpContext context, ClientApi api, UsageTrace trace, IChatFormat upstreamFormat, bool passthrough, UpstreamAttempt attempt)
    {
        var response = attempt.Response!;
        var bytes = attempt.Body;
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
    private async Task<(int Status, string? Error, FailureKind? Failure)> StreamAsync(HttpContext context, ClientApi api, UsageTrace trace, ChatRequest request, IChatFormat upstreamFormat, bool passthrough, bool hideUsageChunk, bool jsonArrayStream, HttpResponseMessage response)
    {
        var clientAborted = context.RequestAborted;
        var clientResponse = context.Response;
        clientResponse.StatusCode = StatusCodes.Status200OK;
        clientResponse.ContentType = jsonArrayStream ? "application/json; charset=utf-8" : "text/event-stream; charset=utf-8";
        clientResponse.Headers.CacheControl = "no-cache";
        clientResponse.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var body = clientResponse.BodyWriter;
        var array = jsonArrayStream ? new JsonArrayFraming(body) : null;
        IBufferWriter<byte> output = array is null ? body : array;
        var decoder = upstreamFormat.CreateStreamDecoder();
        var encoder = passthrough ? null : api.Format.CreateStreamEncoder(request);
        var events = new List<StreamEvent>(8);
        var idle = options.Value.StreamIdleTimeout;
        RelayError? failure = null;
        FailureKind? broken = null;

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
                        array?.Complete();
                        await body.FlushAsync(clientAborted).ConfigureAwait(false);
                        return (StatusCodes.Status502BadGateway, failure.Message, null);
                    }
                }
                else
                {
                    WriteEvents(events, encoder, output, trace);
                }

                // NOTE: Kestrel's response writer reports no unflushed bytes, so there is no cheap "anything written?"
                // test; a flush with nothing pending costs nothing.
                trace.FirstByteSent();
                array?.Commit();
                await body.FlushAsync(clientAborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!clientAborted.IsCancellationRequested)
        {
            failure = new RelayError(ErrorKind.Timeout, $"The upstream stream sent nothing for {idle.TotalSeconds:0} s.");
            broken = FailureKind.Timeout;
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !clientAborted.IsCancellationRequested)
        {
            failure = new RelayError(ErrorKind.Upstream, "The upstream stream broke off: " + e.Message);
            broken = FailureKind.Unreachable;
        }

        if (failure is null)
        {
            if (array is not null)
            {
                array.Complete();
                await body.FlushAsync(clientAborted).ConfigureAwait(false);
            }

            return (StatusCodes.Status200OK, null, null);
        }

        // After the first byte there is no status code left to set: the stream ends with an error event in the client's format.
        (encoder ?? api.Format.CreateStreamEncoder(request)).WriteError(failure, output);
        array?.Complete();
        trace.FirstByteSent();
        await body.FlushAsync(clientAborted).ConfigureAwait(false);
        return (api.Format.StatusCodeOf(failure), failure.Message, broken);
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

    /// <summary>The last upstream refusal, in the client's shape (exactly as it came when the formats match).</summary>
    private static async Task<(int Status, string? Error)> RelayUpstreamErrorAsync(HttpContext context, ClientApi api, UpstreamAttempt attempt)
    {
        var account = attempt.Candidate.Account;
        var upstreamFormat = ProviderRegistry.For(account.Provider).UpstreamFormat(api.Format.Format);
        var passthrough = upstreamFormat.Format == api.Format.Format;
        var status = attempt.Status;
        if (passthrough && status is not (401 or 403))
        {
            // Same format: the client gets exactly what the upstream said.
            context.Response.StatusCode = status;
            context.Response.ContentType = attempt.ContentType ?? "application/json";
            if (attempt.RetryAfter is { } wait)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            await context.Response.Body.WriteAsync(attempt.Body, context.RequestAborted).ConfigureAwait(false);
            return (status, $"upstream {status}");
        }

        var error = UpstreamErrors.FromStatus(status, attempt.Body.Span, upstreamFormat, account, attempt.RetryAfter);
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
