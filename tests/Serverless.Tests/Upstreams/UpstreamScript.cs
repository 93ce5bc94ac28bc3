namespace Serverless.Tests.Upstreams;

/// <summary>How <see cref="LoopbackUpstream"/> misbehaves (or not) for the requests that follow.</summary>
public sealed record UpstreamScript
{
    /// <summary>Delay between streamed events; the first event is sent at once.</summary>
    public TimeSpan EventDelay { get; init; }

    /// <summary>Answer this status with an error body in the endpoint's own error shape (after the credential check).</summary>
    public int? FailStatus { get; init; }

    /// <summary>How many requests <see cref="FailStatus"/> applies to before the fake behaves again; null means every request.</summary>
    public int? FailTimes { get; init; }

    public string FailMessage { get; init; } = "simulated upstream failure";

    /// <summary>Sent as <c>retry-after</c> (whole seconds, rounded up) together with <see cref="FailStatus"/>.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Streams: send this many events, then abort the connection.</summary>
    public int? BreakAfterEvents { get; init; }

    /// <summary>Streams: after the first content event send the format's own in-stream error event with this message, then end.</summary>
    public string? ErrorEventAfter { get; init; }

    /// <summary>Accept the request and never answer until the caller gives up (counted like <see cref="FailStatus"/> by <see cref="FailTimes"/>).</summary>
    public bool Hang { get; init; }

    /// <summary>Abort the connection without any response (counted like <see cref="FailStatus"/> by <see cref="FailTimes"/>).</summary>
    public bool Reset { get; init; }

    /// <summary>
    /// Non-streamed answers: send only this many bytes of the body (flushed), then wait for <see cref="AtAnswerSplit"/>
    /// or cut the connection (<see cref="BreakAtAnswerSplit"/>) before the rest.
    /// </summary>
    public int? AnswerSplitAt { get; init; }

    /// <summary>Awaited between the two parts of a split answer, so a test can see the first part reach its client first.</summary>
    public Func<CancellationToken, Task>? AtAnswerSplit { get; init; }

    /// <summary>Abort the connection at <see cref="AnswerSplitAt"/> (after <see cref="AtAnswerSplit"/>) instead of sending the rest.</summary>
    public bool BreakAtAnswerSplit { get; init; }

    /// <summary>Non-streamed answers: announce the body's length (<c>Content-Length</c>) instead of sending it chunked.</summary>
    public bool AnswerContentLength { get; init; }

    /// <summary>When above zero, ignore the reply rule and answer <c>w1 w2 … wN</c>.</summary>
    public int ReplyWords { get; init; }

    /// <summary>
    /// Streams: awaited before each content event with the number of content events already sent, so a test can hold
    /// event N until its client has seen event N-1 (a gate instead of a clock) or until the relay hangs up.
    /// </summary>
    public Func<int, CancellationToken, Task>? BeforeContentEvent { get; init; }

    /// <summary>
    /// Awaited before a valid request is answered (after every check), so a test can hold requests at the upstream
    /// until enough of them arrived (a gate instead of a clock).
    /// </summary>
    public Func<CancellationToken, Task>? BeforeAnswer { get; init; }
}
