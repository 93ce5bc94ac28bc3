namespace Serverless.Relay.Errors;

/// <summary>
/// The relay's one result type: a value or the <see cref="RelayError"/> that explains why there is none, never both.
/// Parsers, stores and the request path return it for expected failures; exceptions are left for bugs.
/// </summary>
internal readonly struct Result<T>
    where T : class
{
    private Result(T? value, RelayError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public RelayError? Error { get; }

    public bool IsSuccess => Error is null;

    public static implicit operator Result<T>(T value) => new(value, null);

    public static implicit operator Result<T>(RelayError error) => new(null, error);
}
