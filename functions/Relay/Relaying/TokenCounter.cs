using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Accounts;
using Serverless.Relay.Failover;
using Serverless.Relay.Formats.Sse;
using Serverless.Relay.Limits;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Token counting (Anthropic <c>count_tokens</c>, Gemini <c>countTokens</c>): asks an upstream that speaks the client's
/// format and has a count endpoint, so the number is exact; otherwise estimates with <see cref="TokenEstimator"/>.
/// It reuses the chat path's parts: the same <see cref="RelayRequestReader"/>, the same <see cref="UpstreamSender"/>
/// (credentials, <see cref="UpstreamCall"/> resolution) under the same <see cref="FailoverExecutor"/> deadlines.
/// Counting is free upstream: no limits are taken and no usage row is written.
/// </summary>
internal sealed partial class TokenCounter(RelayRequestReader reader, AccountScheduler scheduler, FailoverExecutor failover, UpstreamSender sender, TokenEstimator estimator, TimeProvider time, ILogger<TokenCounter> logger)
{
    /// <param name="readRequest">Parses the count body into a canonical request (formats differ in what a count body holds).</param>
    /// <param name="writeCount">Writes the estimated count in the client's shape.</param>
    public async Task CountAsync(HttpContext context, ClientApi api, RouteHints hints, CanonicalReader readRequest, Action<Utf8JsonWriter, int> writeCount)
    {
        // :: Step 1 Build the request, as for a chat.
        var read = await reader.ReadAsync(context, api, hints, readRequest).ConfigureAwait(false);
        RelayOutcome outcome;
        if (read.Fault is { } fault)
        {
            Log.Faulted(logger, fault);
            outcome = RelayOutcome.Refusal(RelayOutcome.InternalError, StatusCodes.Status500InternalServerError);
        }
        else if (read.Request is not { } request)
        {
            outcome = RelayOutcome.Refusal(read.Error!, api.Format);
        }
        else
        {
            using (request)
            {
                outcome = await CountAsync(request, new HttpRelayOutput(context, time), writeCount, context.RequestAborted).ConfigureAwait(false);
            }
        }

        // :: Step 5 Answer a failure in the client's shape.
        await RelayResults.WriteFailureAsync(context, api.Format, outcome).ConfigureAwait(false);
    }

    private async Task<RelayOutcome> CountAsync(RelayRequest request, HttpRelayOutput output, Action<Utf8JsonWriter, int> writeCount, CancellationToken clientAborted)
    {
        var api = request.Api;
        var model = request.Head.Model;

        // :: Step 2 Permission and candidates: accounts that can count natively, in the scheduler's order.
        if (!request.Key.AllowsModel(model))
        {
            return Refused(new RelayError(ErrorKind.PermissionDenied, $"This API key may not use model '{model}'.", "model"));
        }

        var plan = await scheduler.PlanAsync(model, null, clientAborted).ConfigureAwait(false);
        if (plan.Matched == 0)
        {
            return Refused(new RelayError(ErrorKind.NotFound, $"The model '{model}' does not exist or is not served by this relay.", "model"));
        }

        var counting = plan.Candidates.Where(candidate => UpstreamCall.CountsNatively(api, candidate)).ToArray();
        if (counting.Length == 0 || request.Body.IsEmpty)
        {
            var count = estimator.Count(request.Chat);
            output.Start(StatusCodes.Status200OK, "application/json", null, stream: false);
            using (var writer = new Utf8JsonWriter(output.Body, SseWriter.JsonWriterOptions))
            {
                writeCount(writer, count);
            }

            await output.FlushAsync(clientAborted).ConfigureAwait(false);
            return Answered();
        }

        // :: Step 3 Call with failover, under the same per-attempt deadline as a chat.
        var result = await failover.ExecuteAsync(
            plan with { Candidates = counting },
            (candidate, attemptToken) => sender.SendAsync(request, UpstreamOperation.CountTokens, candidate, attemptToken, clientAborted),
            clientAborted).ConfigureAwait(false);
        if (result.Success is not { } success)
        {
            using var last = result.LastFailure;
            if (last is null)
            {
                return Refused(plan.NothingAvailable(model));
            }

            if (result.DeadlineReached is { } deadline)
            {
                return Refused(deadline) with { Kind = RelayOutcomeKind.UpstreamFailed, Account = last.Candidate.Account };
            }

            var (error, relayed) = UpstreamErrors.Of(last);
            return new RelayOutcome
            {
                Kind = RelayOutcomeKind.UpstreamFailed,
                Status = relayed is null ? api.Format.StatusCodeOf(error!) : last.Status,
                Error = error,
                Relayed = relayed,
                Account = last.Candidate.Account,
            };
        }

        // :: Step 4 Relay the upstream's count as it came.
        using (success)
        {
            var response = success.Response!;
            output.Start((int)response.StatusCode, "application/json", success.Body.Length, stream: false);
            output.Body.Write(success.Body.Span);
            await output.FlushAsync(clientAborted).ConfigureAwait(false);
            return Answered();
        }

        RelayOutcome Refused(RelayError error) => RelayOutcome.Refusal(error, api.Format);

        static RelayOutcome Answered() => new() { Kind = RelayOutcomeKind.Answered, Status = StatusCodes.Status200OK, ResponseStarted = true };
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 103, Level = LogLevel.Error, Message = "Reading a token count request failed inside the relay")]
        public static partial void Faulted(ILogger logger, Exception exception);
    }
}
