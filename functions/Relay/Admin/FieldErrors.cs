using Serverless.Relay.Formats;

namespace Serverless.Relay.Admin;

/// <summary>Every problem of one request body, so a client fixes them all in one round trip.</summary>
internal sealed class FieldErrors
{
    private readonly List<(string Param, string Message)> _errors = [];

    public bool Any => _errors.Count > 0;

    public void Add(string param, string message) => _errors.Add((param, message));

    public bool Has(string param) => _errors.Exists(e => e.Param == param);

    /// <summary>One 400: the messages joined with "; ", <c>param</c> the first offending field.</summary>
    public RelayError ToError() => RelayError.Invalid(string.Join("; ", _errors.Select(e => e.Message)), _errors[0].Param);
}

/// <summary>A field of a partial update: absent, or present with a value (which may be null: "clear it").</summary>
internal readonly record struct Optional<T>(bool IsSet, T Value)
{
    public static implicit operator Optional<T>(T value) => new(true, value);

    public T Or(T fallback) => IsSet ? Value : fallback;
}
