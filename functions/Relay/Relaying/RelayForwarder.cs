using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;
using Serverless.Relay.Audit;
using Serverless.Relay.Canonical;
using Serverless.Relay.Failover;
using Serverless.Relay.Formats;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.Pricing;
using Serverless.Relay.Sessions;
using Serverless.Relay.Telemetry;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The request path of every chat API, modelled on YARP's <c>HttpForwarder</c>: one <see cref="RelayRequest"/> in,
/// one <see cref="RelayOutcome"/> out, each step a call into a focused type. The answer goes to an
/// <see cref="IRelayOutput"/>; errors before the first byte are returned, never written here; exactly one usage row is
/// recorded for every request, whatever happens (exceptions included).
/// </summary>
internal sealed partial class RelayForwarder(
    AccountScheduler scheduler,
    SessionBindings sessions,
    FailoverExecutor failover,
    UpstreamSender sender,
    KeyLimiter limiter,
    TokenEstimator estimator,
    IUsageSink usageSink,
    PriceBook prices,
    GenAiTelemetry telemetry,
    IOptions<RelayOptions> options,
    IOptions<AuditOptions> auditOptions,
    TimeProvider time,
    ILogger<RelayForwarder> logger)
{
    public async Task<RelayOutcome> RelayAsync(RelayRequest request, IRelayOutput clientOutput, CancellationToken clientAborted)
    {
        // Everything written to the client passes the audit's digest on its way.
        using var output = AuditedOutput.Start(request, clientOutput, auditOptions.Value.MaxBodyBytes);
        var trace = new UsageTrace(request.Api, request.Key, time, telemetry) { RequestedModel = request.Head.Model, Stream = request.Head.Stream };
        Identify(request.Api, trace, output);
        RelayOutcome outcome;
        try
        {
            outcome = await ForwardAsync(request, output, trace, clientAborted).ConfigureAwait(false);
            if (outcome.IsSuccess)
            {
                // The key's limits are settled before the client has the whole answer, its rows after: making them is
                // the relay's business, not the client's wait.
                trace.Settle(await prices.GetAsync(CancellationToken.None).ConfigureAwait(false), outcome);
                await output.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (clientAborted.IsCancellationRequested)
        {
            outcome = trace.End(RelayOutcomeKind.ClientClosed, 499, output.Started, detail: "client closed the request");
        }
        catch (Exception e)
        {
            // A bug: the client gets a 500 in its shape (if nothing was sent yet), the row and the lease are settled below.
            Log.Faulted(logger, trace.RequestId, e);
            outcome = trace.End(RelayOutcomeKind.Faulted, 500, output.Started, RelayOutcome.InternalError, detail: $"{e.GetType().Name}: {e.Message}");
        }

        // :: Step 6 Meter: exactly one usage row and its audit row; it also charges and releases the key's lease, unless an
        // answer's was settled above.
        trace.Audit = output.Facts();
        await RecordAsync(trace, outcome).ConfigureAwait(false);
        return outcome;
    }

    /// <summary>
    /// A request refused while it was being read (bad body, a bug in a reader): metered like any other, with the key
    /// that sent it.
    /// </summary>
    public async Task<RelayOutcome> RefuseAsync(ClientKey key, ClientApi api, RelayError error, Exception? fault, IRelayOutput clientOutput, string? requestedModel, string? clientAddress)
    {
        using var output = AuditedOutput.Unread(clientOutput, clientAddress);
        var trace = new UsageTrace(api, key, time, telemetry) { RequestedModel = requestedModel ?? "" };
        Identify(api, trace, output);
        RelayOutcome outcome;
        if (fault is not null)
        {
            Log.Faulted(logger, trace.RequestId, fault);
            outcome = trace.End(RelayOutcomeKind.Faulted, 500, started: false, error, detail: $"{fault.GetType().Name}: {fault.Message}");
        }
        else
        {
            outcome = trace.End(RelayOutcomeKind.Refused, api.Format.StatusCodeOf(error), started: false, error);
        }

        trace.Audit = output.Facts();
        await RecordAsync(trace, outcome).ConfigureAwait(false);
        return outcome;
    }

    private async Task<RelayOutcome> ForwardAsync(RelayRequest request, AuditedOutput output, UsageTrace trace, CancellationToken clientAborted)
    {
        var api = request.Api;
        var head = request.Head;

        // :: Step 1 Permission: the key may use this model.
        if (!request.Key.AllowsModel(head.Model))
        {
            return Refused(new RelayError(ErrorKind.PermissionDenied, $"This API key may not use model '{head.Model}'.", "model"));
        }

        if (api.Operation == UpstreamOperation.Compact && head.Stream)
        {
            return Refused(RelayError.Invalid("stream: a compaction is answered whole; it cannot be streamed", "stream"));
        }

        // :: Step 2 Limits: the lease holds a concurrency slot and reserved tokens until the row is recorded. A token limit
        // counts the prompt read in place where the format can; only a translation reads the whole canonical request
        // (ReadChat), so a same-format relay forwards the client's bytes having read their head (and, for a session,
        // their conversation's start) and, with a token limit, their prompt's texts.
        trace.Lease = request.Key.Limits.CountsPromptTokens
            ? await limiter.AcquireAsync(request.Key, request.CountPromptTokens(estimator), clientAborted).ConfigureAwait(false)
            : await limiter.AcquireAsync(request.Key, prompt: null, clientAborted).ConfigureAwait(false);

        output.WriteLimitHeaders(trace.Lease, api.Format.Format);
        if (!trace.Lease.IsAcquired)
        {
            return Refused(trace.Lease.ToError());
        }

        // :: Step 3 Schedule: a conversation keeps its account while that account is available (upstream prompt caches keep
        // hitting); one that continues a stored response goes where that response was made.
        SessionBinding? session = null;
        if (sessions.Enabled)
        {
            var id = head.PreviousResponseId is { } previous
                ? SessionKey.Continuing(previous)
                : SessionKey.Named(head, request.SessionHint) ?? (request.Json is { } json ? SessionKey.Derived(api.Format, json) : SessionKey.Derived(request.Chat));
            if (id is not null)
            {
                session = await sessions.ResolveAsync(SessionKey.Of(request.Key.Id, head.Model, id), clientAborted).ConfigureAwait(false);
            }
        }

        var plan = await scheduler.PlanAsync(head.Model, session?.AccountId, clientAborted).ConfigureAwait(false);
        if (plan.Matched == 0)
        {
            return Refused(new RelayError(ErrorKind.NotFound, $"The model '{head.Model}' does not exist or is not served by this relay.", "model"));
        }

        // NOTE: a stored response, conversation or prompt template lives only with the upstream that keeps it, and the
        // relay stores none: a translated call would get the follow-up without the conversation it continues (an orphan
        // tool result, or no context at all), or a prompt without its template. A compaction has no translation at all.
        if (PassthroughOnly(request))
        {
            plan = plan.Where(account => UpstreamCall.PassesThrough(request, account));
            if (plan.Matched == 0)
            {
                return Refused(NoPassthroughAccount(request));
            }
        }

        // A body that does not read is refused before any upstream is tried, not failed over.
        if (UpstreamCall.AnyTranslates(request, plan.Candidates))
        {
            if (request.ReadChat() is { Value: null } untranslatable)
            {
                return Refused(untranslatable.Error!);
            }

            // An account whose format has no form for some part (a document by URL for Chat Completions) is left out;
            // with none left, the reason is the answer.
            RelayError? uncarried = null;
            var carrying = plan.Where(account =>
            {
                var reason = UpstreamCall.CannotCarry(request, account);
                uncarried ??= reason;
                return reason is null;
            });
            if (carrying.Matched == 0)
            {
                return Refused(uncarried!);
            }

            plan = carrying;
        }

        // :: Step 4 Call the upstream, failing over to the next candidate until the first byte (the executor marks every
        // attempt). A stream is kept alive meanwhile; its first beat commits the 200, so failures then become error events.
        await using var heartbeat = StreamHeartbeat.Start(request, output, options.Value.StreamHeartbeatInterval, time, clientAborted);
        var result = await failover.ExecuteAsync(
            plan,
            (candidate, attemptToken) => sender.SendAsync(request, api.Operation, candidate, attemptToken, clientAborted),
            clientAborted).ConfigureAwait(false);
        if (result.Success is not { } success)
        {
            if (heartbeat is not null)
            {
                await heartbeat.StopAsync().ConfigureAwait(false);
            }

            using var last = result.LastFailure;
            if (last is null)
            {
                // Accounts match, but none could even be tried: all cooling down, circuit-open, disabled or at their cap.
                return await FailAsync(RelayOutcomeKind.Refused, result.DeadlineReached ?? plan.NothingAvailable(head.Model)).ConfigureAwait(false);
            }

            trace.Account = last.Candidate.Account;
            trace.UpstreamModel = last.Candidate.UpstreamModel;
            if (result.DeadlineReached is { } deadline)
            {
                return await FailAsync(RelayOutcomeKind.UpstreamFailed, deadline).ConfigureAwait(false);
            }

            if (output.Started)
            {
                return await FailAsync(RelayOutcomeKind.UpstreamFailed, UpstreamErrors.InStream(last), last.Status).ConfigureAwait(false);
            }

            var (error, relayed) = UpstreamErrors.Of(last);
            return trace.End(RelayOutcomeKind.UpstreamFailed, relayed is null ? api.Format.StatusCodeOf(error!) : last.Status, output.Started, error, relayed);
        }

        // :: Step 5 Relay the answer or the stream to the output.
        using (success)
        {
            trace.Account = success.Candidate.Account;
            trace.UpstreamModel = success.Candidate.UpstreamModel;
            if (session is not null)
            {
                sessions.Bind(session, success.Candidate.Account.Id);
            }

            var end = head.Stream
                ? await StreamRelay.RelayAsync(request, success, output, trace, options.Value, heartbeat, clientAborted).ConfigureAwait(false)
                : await AnswerRelay.RelayAsync(request, success, output, trace, options.Value, clientAborted).ConfigureAwait(false);
            if (end.Error is not { } failure)
            {
                RememberStoredAnswer(request, plan, success, trace);
                return trace.End(RelayOutcomeKind.Answered, 200, output.Started);
            }

            if (!output.Started)
            {
                // An answer that could not be read: nothing was sent, so the client gets an error response.
                return trace.End(RelayOutcomeKind.UpstreamFailed, api.Format.StatusCodeOf(failure), started: false, failure);
            }

            if (end.Failure is { } kind)
            {
                // After the first byte there is no retry, but the account is still marked for what it did.
                failover.ReportBroken(plan, success, kind, failure.Message);
            }

            return trace.End(RelayOutcomeKind.BrokenAfterFirstByte, end.UpstreamErrorRelayed ? 502 : api.Format.StatusCodeOf(failure), output.Started, failure);
        }

        RelayOutcome Refused(RelayError error) => trace.End(RelayOutcomeKind.Refused, api.Format.StatusCodeOf(error), output.Started, error);

        // A failure before any upstream event: an error response, or, once a heartbeat has committed the 200, an error
        // event in the client's format (as for a stream broken after its first byte).
        async ValueTask<RelayOutcome> FailAsync(RelayOutcomeKind kind, RelayError error, int? upstreamStatus = null)
        {
            var status = upstreamStatus is > 0 ? upstreamStatus.Value : api.Format.StatusCodeOf(error);
            if (output.Started)
            {
                await StreamRelay.WriteErrorAsync(request, output, error, clientAborted).ConfigureAwait(false);
            }

            return trace.End(kind, status, output.Started, error);
        }
    }

    /// <summary>
    /// Whether only an upstream spoken to in the client's own format can serve the request: it asks what only such an
    /// upstream does (Responses' compaction) or uses what only it stores (Responses' <c>previous_response_id</c>,
    /// <c>conversation</c>, <c>prompt</c>).
    /// </summary>
    private static bool PassthroughOnly(RelayRequest request) =>
        request.Api.Operation == UpstreamOperation.Compact
        || request.Head is { PreviousResponseId: not null } or { ConversationId: not null } or { PromptId: not null };

    /// <summary>The refusal of a <see cref="PassthroughOnly"/> request whose model no such upstream serves.</summary>
    private static RelayError NoPassthroughAccount(RelayRequest request)
    {
        var head = request.Head;
        if (request.Api.Operation == UpstreamOperation.Compact)
        {
            return RelayError.Invalid(
                $"The model '{head.Model}' is served by an upstream that cannot compact a conversation: responses/compact needs an account that speaks the Responses API (OpenAI).",
                "model");
        }

        return head switch
        {
            { PreviousResponseId: not null } => KeptUpstream(head, "previous_response_id", "responses", "the whole conversation as input"),
            { ConversationId: not null } => KeptUpstream(head, "conversation", "conversations", "the whole conversation as input"),
            _ => KeptUpstream(head, "prompt", "prompt templates", "the prompt's text as instructions and input"),
        };
    }

    private static RelayError KeptUpstream(RequestHead head, string field, string kept, string instead) => RelayError.Invalid(
        $"{field}: the model '{head.Model}' is served by an upstream that keeps no {kept}; send {instead} instead.", field);

    /// <summary>
    /// Binds the answer's id to the account that made and stored it, so the request that continues it
    /// (<c>previous_response_id</c>) goes there: a stored response lives with one OpenAI project, and another account's
    /// key gets a 404 for it. Only where another account could be chosen, and never for a translated answer, whose id no
    /// upstream knows, or a compaction, which no request continues.
    /// </summary>
    private void RememberStoredAnswer(RelayRequest request, SchedulePlan plan, UpstreamAttempt answer, UsageTrace trace)
    {
        if (sessions.Enabled && request.Api.Operation == UpstreamOperation.Chat && request.Head.StoresResponse && answer.Passthrough && plan.Matched > 1 && trace.AnswerId is { Length: > 0 } id)
        {
            var key = SessionKey.Of(request.Key.Id, request.Head.Model, SessionKey.Continuing(id));
            sessions.Bind(new SessionBinding(key, AccountId: null), answer.Candidate.Account.Id);
        }
    }

    /// <summary>
    /// The request's ids on the response: always its request id, and the trace id when a trace is recorded. Anthropic's
    /// SDKs read theirs from <c>request-id</c> (their errors and <c>_request_id</c> show it), so that carries it too.
    /// </summary>
    private static void Identify(ClientApi api, UsageTrace trace, AuditedOutput output)
    {
        output.SetHeader("x-request-id", trace.RequestId);
        if (api.Format.Format == WireFormat.Anthropic)
        {
            output.SetHeader("request-id", trace.RequestId);
        }

        if (trace.StartSpan() is { } traceId)
        {
            output.SetHeader("x-trace-id", traceId);
        }
    }

    private async Task RecordAsync(UsageTrace trace, RelayOutcome outcome)
    {
        try
        {
            trace.Record(usageSink, await prices.GetAsync(CancellationToken.None).ConfigureAwait(false), outcome);
        }
        finally
        {
            // Whatever happened to the row, the key's concurrency slot is never kept.
            trace.ReleaseLease();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "Request {RequestId} failed inside the relay")]
        public static partial void Faulted(ILogger logger, string requestId, Exception exception);
    }
}
