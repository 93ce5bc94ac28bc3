using Serverless.Relay.Accounts;
using Serverless.Relay.Buffers;
using Serverless.Relay.Formats;

namespace Serverless.Relay.Failover;

/// <summary>
/// One call to one account, as a value: answered (a 2xx with its response, and for a non-streamed call its body, whole
/// or, for a long same-format answer, its head), refused (an upstream status with its error body), or broken (no
/// answer: connect failure, reset, timeout). Owns the response and the account slot until disposed.
/// </summary>
internal sealed class UpstreamAttempt : IDisposable
{
    private UpstreamAttempt(Candidate candidate) => Candidate = candidate;

    public Candidate Candidate { get; }

    /// <summary>The format the upstream was spoken to in, and whether it is the client's own (bytes relayed as they came).</summary>
    public IChatFormat? UpstreamFormat { get; internal set; }

    public bool Passthrough { get; internal set; }

    /// <summary>The slot on the account, held until the answer or stream is done.</summary>
    public AccountHealth.AccountLease? Lease { get; internal set; }

    /// <summary>The 2xx response (headers read); null unless <see cref="Succeeded"/>.</summary>
    public HttpResponseMessage? Response { get; private init; }

    /// <summary>
    /// A non-streamed answer's body (or its head, when <see cref="BodyRest"/> is set), or a refusal's (bounded) error body.
    /// </summary>
    public ReadOnlyMemory<byte> Body => _answer?.WrittenMemory ?? _refusal;

    /// <summary>
    /// The rest of a same-format answer longer than <c>RelayLimits.AnswerHeadBytes</c>, still to be read: it is relayed as
    /// it arrives, after the first byte, where nothing can be retried. Null when <see cref="Body"/> is the whole answer.
    /// </summary>
    public Stream? BodyRest { get; private init; }

    /// <summary>The upstream status; 0 when it never answered.</summary>
    public int Status { get; private init; }

    public string? ContentType { get; private init; }

    public TimeSpan? RetryAfter { get; private init; }

    /// <summary>For a broken attempt, what the client is told if it is the last.</summary>
    public RelayError? Error { get; private init; }

    /// <summary>How the account is marked: null for a success or a refusal that is the client's own fault (400, 404…).</summary>
    public FailureKind? Failure { get; internal set; }

    public bool Succeeded => Response is not null;

    /// <summary>
    /// No answer at all: the relay's attempt timeout, or a connection that failed before any response. Under the
    /// relay's own load (queueing, a burst of new connections) these are as likely the relay's doing as the upstream's,
    /// so they never take out the last account a request could use (<see cref="FailoverExecutor"/>).
    /// </summary>
    public bool Unanswered => Status == 0 && Failure is FailureKind.Timeout or FailureKind.Unreachable;

    /// <summary>
    /// The failure was the relay's own (its connection queue, a local socket error; see
    /// <see cref="UpstreamStatus.IsRelaysOwn"/>): noted on the account, never held against it. Still retryable: another
    /// account is another server with its own connections.
    /// </summary>
    public bool RelaysOwn { get; private init; }

    /// <summary>Worth another account: the failure was the account's, not the request's.</summary>
    public bool Retryable => Failure is not null;

    private PooledBufferWriter? _answer;
    private ReadOnlyMemory<byte> _refusal;

    /// <param name="body">What was read of a non-streamed answer; owned (and returned to the pool) by the attempt.</param>
    /// <param name="rest">The answer's body stream when <paramref name="body"/> is only its head.</param>
    public static UpstreamAttempt Answered(Candidate candidate, HttpResponseMessage response, PooledBufferWriter? body = null, Stream? rest = null) =>
        new(candidate) { Response = response, Status = (int)response.StatusCode, _answer = body, BodyRest = rest, ContentType = response.Content.Headers.ContentType?.ToString() };

    public static UpstreamAttempt Refused(Candidate candidate, int status, ReadOnlyMemory<byte> body, string? contentType, TimeSpan? retryAfter) =>
        new(candidate) { Status = status, _refusal = body, ContentType = contentType, RetryAfter = retryAfter, Failure = UpstreamStatus.Classify(status, body.Span).Failure };

    public static UpstreamAttempt Broken(Candidate candidate, FailureKind failure, RelayError error, bool relaysOwn = false) =>
        new(candidate) { Failure = failure, Error = error, RelaysOwn = relaysOwn };

    public void Dispose()
    {
        Response?.Dispose();
        _answer?.Dispose();
        Lease?.Dispose();
    }
}
