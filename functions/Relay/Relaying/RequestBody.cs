using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The whole client body, read once into one pooled buffer: requests must be parsed, and a same-format relay forwards
/// the exact bytes. The JSON document and the upstream call read the buffer in place (no copy); it goes back to the
/// pool, and its bytes back to <see cref="InFlightBodies"/>, when the body is disposed, which its
/// <see cref="RelayRequest"/> does when the request ends.
/// </summary>
/// <remarks>
/// NOTE: bytes are taken from the in-flight bound before they are read (the declared length at once, a chunked body as
/// it grows), so a burst of large bodies is refused at the door instead of being buffered and then refused.
/// </remarks>
internal sealed class RequestBody : IDisposable
{
    /// <summary>A chunked body starts this small and doubles: most requests are a few kilobytes.</summary>
    private const int FirstChunkedBytes = 16 * 1024;

    /// <summary>How soon a client refused for the in-flight bound may try again: bodies in flight end within seconds.</summary>
    internal static readonly TimeSpan BusyRetryAfter = TimeSpan.FromSeconds(1);

    private readonly InFlightBodies _budget;
    private byte[]? _buffer;
    private int _length;
    private long _taken;

    private RequestBody(InFlightBodies budget) => _budget = budget;

    /// <summary>The body's bytes; empty once disposed.</summary>
    public ReadOnlyMemory<byte> Memory => _buffer is { } buffer ? buffer.AsMemory(0, _length) : default;

    /// <summary>Reads the body, or says why not (413 too large, 429 when the in-flight bound is full) as a value.</summary>
    /// <remarks>A failure to read (the client went away, a malformed chunk) throws as before, with nothing kept.</remarks>
    public static async ValueTask<(RequestBody? Body, RelayError? Error)> ReadAsync(HttpRequest request, InFlightBodies budget, CancellationToken cancellationToken)
    {
        var declared = request.ContentLength;
        if (declared > RelayLimits.MaxRequestBodyBytes)
        {
            return (null, TooLarge(RelayLimits.MaxRequestBodyBytes));
        }

        var body = new RequestBody(budget);
        try
        {
            if (!body.Grow(declared is { } length ? (int)length : FirstChunkedBytes, out var refusal))
            {
                body.Dispose();
                return (null, refusal);
            }

            var reader = request.BodyReader;
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                foreach (var segment in result.Buffer)
                {
                    if (!body.Append(segment.Span, out refusal))
                    {
                        reader.AdvanceTo(result.Buffer.End);
                        body.Dispose();
                        return (null, refusal);
                    }
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return (body, null);
                }
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            body.Dispose();
            return (null, TooLarge(RelayLimits.MaxRequestBodyBytes));
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    private bool Append(ReadOnlySpan<byte> bytes, out RelayError? refusal)
    {
        refusal = null;
        var needed = (long)_length + bytes.Length;
        if (needed > _taken)
        {
            var ceiling = Math.Min(RelayLimits.MaxRequestBodyBytes, _budget.Limit);
            if (needed > ceiling)
            {
                refusal = TooLarge(ceiling);
                return false;
            }

            if (!Grow((int)Math.Min(Math.Max(needed, _taken * 2), ceiling), out refusal))
            {
                return false;
            }
        }

        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
        return true;
    }

    /// <summary>Takes the bytes from the in-flight bound first, then a pooled buffer that holds them.</summary>
    private bool Grow(int capacity, out RelayError? refusal)
    {
        refusal = null;
        if (capacity > _budget.Limit)
        {
            refusal = TooLarge(_budget.Limit);
            return false;
        }

        var more = capacity - _taken;
        if (!_budget.TryTake(more))
        {
            refusal = new RelayError(ErrorKind.RateLimited, "The relay is holding as many request bodies as it is configured for; retry shortly.")
            {
                RetryAfter = BusyRetryAfter,
            };
            return false;
        }

        _taken = capacity;
        var buffer = ArrayPool<byte>.Shared.Rent(capacity);
        if (_buffer is { } old)
        {
            old.AsSpan(0, _length).CopyTo(buffer);
            ArrayPool<byte>.Shared.Return(old);
        }

        _buffer = buffer;
        return true;
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _budget.Release(_taken);
        _taken = 0;
    }

    private static RelayError TooLarge(long limit) =>
        new(ErrorKind.RequestTooLarge, $"Request body is larger than {Size(limit)}.");

    private static string Size(long bytes) => bytes % (1024 * 1024) == 0
        ? (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + " MB"
        : (bytes / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KB";
}
