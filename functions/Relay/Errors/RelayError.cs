namespace Serverless.Relay.Errors;

/// <summary>What went wrong, independent of any client API. Each client format maps it to its own status and shape.</summary>
internal enum ErrorKind
{
    /// <summary>400: bad JSON, missing or invalid field.</summary>
    InvalidRequest,
    /// <summary>401: missing or unknown relay key.</summary>
    Authentication,
    /// <summary>403: the key may not do this (model not allowed, expired, disabled).</summary>
    PermissionDenied,
    /// <summary>404: unknown model or route.</summary>
    NotFound,
    /// <summary>413</summary>
    RequestTooLarge,
    /// <summary>429</summary>
    RateLimited,
    /// <summary>502: the upstream failed or answered something unusable.</summary>
    Upstream,
    /// <summary>Upstream overloaded: Anthropic answers 529, the others 503.</summary>
    Overloaded,
    /// <summary>503: nothing could serve the request (no account, all unavailable).</summary>
    Unavailable,
    /// <summary>504: the upstream did not answer in time.</summary>
    Timeout,
    /// <summary>500: a bug in the relay.</summary>
    Internal,
}

/// <summary>An expected failure, carried as a value to the one place that writes it in the client's format.</summary>
/// <param name="Param">The offending request field, when there is one (OpenAI's <c>param</c>).</param>
internal sealed record RelayError(ErrorKind Kind, string Message, string? Param = null)
{
    /// <summary>How long the client should wait, for <see cref="ErrorKind.RateLimited"/> and <see cref="ErrorKind.Overloaded"/>.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// When the error came from an upstream that speaks the client's own format, its status code, so a same-format
    /// relay answers exactly what the upstream said.
    /// </summary>
    public int? UpstreamStatus { get; init; }

    /// <summary>OpenAI's <c>code</c> when the kind alone does not give it (an upstream's <c>context_length_exceeded</c>).</summary>
    public string? Code { get; init; }

    public static RelayError Invalid(string message, string? param = null) => new(ErrorKind.InvalidRequest, message, param);

    /// <summary>
    /// The HTTP status most APIs use for this error: the upstream's own status when it spoke the client's format,
    /// else by kind. A format whose convention differs (Anthropic's 529) maps that kind itself first.
    /// </summary>
    public int StatusCode => UpstreamStatus ?? Kind switch
    {
        ErrorKind.InvalidRequest => 400,
        ErrorKind.Authentication => 401,
        ErrorKind.PermissionDenied => 403,
        ErrorKind.NotFound => 404,
        ErrorKind.RequestTooLarge => 413,
        ErrorKind.RateLimited => 429,
        ErrorKind.Upstream => 502,
        ErrorKind.Overloaded => 503,
        ErrorKind.Unavailable => 503,
        ErrorKind.Timeout => 504,
        _ => 500,
    };
}
