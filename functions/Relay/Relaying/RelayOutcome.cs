using Serverless.Relay.Accounts;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Relaying;

/// <summary>How a relayed request ended.</summary>
internal enum RelayOutcomeKind
{
    /// <summary>The upstream answered and the answer or stream reached the client whole.</summary>
    Answered,

    /// <summary>The relay refused before calling anyone: a limit, a bad request, a model the key may not use, nothing available.</summary>
    Refused,

    /// <summary>Every attempt failed before the first byte; the last upstream error is the client's answer.</summary>
    UpstreamFailed,

    /// <summary>The stream started and then broke (cut, idle, an upstream error event): it ends with an error event.</summary>
    BrokenAfterFirstByte,

    /// <summary>The client went away.</summary>
    ClientClosed,

    /// <summary>A bug in the relay: answered 500 (when nothing was sent yet) and recorded.</summary>
    Faulted,
}

/// <summary>
/// An upstream's own error answer, relayed exactly as it came when the upstream speaks the client's format.
/// </summary>
internal sealed record RelayedError(ReadOnlyMemory<byte> Body, string? ContentType, TimeSpan? RetryAfter);

/// <summary>
/// The one value a relayed request ends with (YARP's <c>ForwarderError</c>, with what metering needs). One place turns
/// it into the client's error response (<see cref="RelayResults.WriteFailureAsync"/>) and one into the usage row
/// (<see cref="UsageTrace.Record"/>).
/// </summary>
internal sealed record RelayOutcome
{
    /// <summary>What a bug is answered with: no detail of the exception reaches the client.</summary>
    public static readonly RelayError InternalError = new(ErrorKind.Internal, "The relay failed while handling this request.");

    public required RelayOutcomeKind Kind { get; init; }

    /// <summary>The HTTP status the client got (or, after the first byte, the status the error event stands for).</summary>
    public required int Status { get; init; }

    /// <summary>What went wrong, in the relay's terms; null when answered, or when <see cref="Relayed"/> holds the upstream's own error.</summary>
    public RelayError? Error { get; init; }

    /// <summary>Set when a same-format upstream's error answer is relayed as it came.</summary>
    public RelayedError? Relayed { get; init; }

    /// <summary>The usage row's error text when it differs from <see cref="Error"/>'s message (a bug's exception).</summary>
    public string? Detail { get; init; }

    /// <summary>The client has already been sent a status line: any error now travels inside the body.</summary>
    public bool ResponseStarted { get; init; }

    public Usage Usage { get; init; } = Usage.Empty;

    /// <summary>The account that answered, or that failed last.</summary>
    public UpstreamAccount? Account { get; init; }

    public string? UpstreamModel { get; init; }

    public TimeSpan? TimeToFirstByte { get; init; }

    public bool IsSuccess => Kind == RelayOutcomeKind.Answered;

    /// <summary>The usage row's error text.</summary>
    public string? RecordedError => Detail ?? Error?.Message ?? (Relayed is null ? null : $"upstream {Status}");

    /// <summary>A refusal before any key is known or any usage is recorded (authentication, an unknown route).</summary>
    public static RelayOutcome Refusal(RelayError error, int status) =>
        new() { Kind = RelayOutcomeKind.Refused, Status = status, Error = error };

    /// <summary>As <see cref="Refusal(RelayError, int)"/>, with the status the client's format gives the error.</summary>
    public static RelayOutcome Refusal(RelayError error, Formats.IChatFormat format) => Refusal(error, format.StatusCodeOf(error));
}
