using System.Buffers.Binary;
using System.Globalization;

namespace Serverless.Relay.Audit;

/// <summary>
/// Where audit rows and bodies live. A row is keyed by key id and request id: request ids are <c>req_</c> and a UUIDv7
/// (<see cref="NewRequestId"/>), whose first 12 hex digits are the Unix milliseconds of the request's start, so row
/// keys sort by time and a time range is a RowKey range, while one request is a point read.
/// </summary>
internal static class AuditKeys
{
    public const string RequestIdPrefix = "req_";
    private const int IdHexLength = 32;
    private const int TimeHexLength = 12;

    /// <summary>A new request id carrying <paramref name="now"/> (the relay's clock, so a test's fake clock too).</summary>
    public static string NewRequestId(DateTimeOffset now) => RequestIdPrefix + NewVersion7(now).ToString("N");

    /// <summary>A UUIDv7 as <see cref="Guid.CreateVersion7(DateTimeOffset)"/> makes it, its 74 random bits from <see cref="Random.Shared"/>.</summary>
    /// <remarks>
    /// NOTE: why not <see cref="Guid.CreateVersion7(DateTimeOffset)"/>. Its random bits come from the operating system's
    /// secure generator, which the native build reads with one system call per id: 1.8 % of the relay's CPU at
    /// concurrency 64 (bench/ANALYSIS.md, "Usage batches, request ids and options at start-up"). A request id must be unique, not secret (reading what it
    /// names takes the admin key), and 74 bits from a generator seeded by the system are unique enough.
    /// </remarks>
    private static Guid NewVersion7(DateTimeOffset now)
    {
        var milliseconds = now.ToUnixTimeMilliseconds();
        Span<byte> random = stackalloc byte[10];
        Random.Shared.NextBytes(random);
        return new Guid(
            (int)(milliseconds >> 16),
            (short)milliseconds,
            (short)(0x7000 | (BinaryPrimitives.ReadUInt16LittleEndian(random) & 0x0FFF)),
            (byte)(0x80 | (random[2] & 0x3F)),
            random[3], random[4], random[5], random[6], random[7], random[8], random[9]);
    }

    /// <summary>The start time a request id carries, or null when it is not one of <see cref="NewRequestId"/>'s.</summary>
    public static DateTimeOffset? TimeOf(string requestId)
    {
        if (requestId.Length != RequestIdPrefix.Length + IdHexLength || !requestId.StartsWith(RequestIdPrefix, StringComparison.Ordinal)
            || !Guid.TryParseExact(requestId.AsSpan(RequestIdPrefix.Length), "N", out var guid) || guid.Version != 7
            || requestId.AsSpan(RequestIdPrefix.Length).ContainsAnyExcept(LowerHex))
        {
            return null;
        }

        var milliseconds = long.Parse(requestId.AsSpan(RequestIdPrefix.Length, TimeHexLength), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
    }

    /// <summary>A row key that every request started at or after <paramref name="at"/> sorts at or after, and every earlier one before.</summary>
    public static string RowKeyBound(DateTimeOffset at) =>
        RequestIdPrefix + Math.Max(0, at.ToUnixTimeMilliseconds()).ToString("x12", CultureInfo.InvariantCulture);

    /// <summary>Bodies blob name: the start day first, so names sort by time and retention lists only what it deletes.</summary>
    public static string BlobNameOf(DateTimeOffset started, string requestId) =>
        started.UtcDateTime.ToString("yyyy/MM/dd", CultureInfo.InvariantCulture) + "/" + requestId;

    /// <summary>Every bodies blob of a request started before <paramref name="cutoff"/> sorts before this name.</summary>
    public static string BlobNameBound(DateTimeOffset cutoff) =>
        cutoff.UtcDateTime.ToString("yyyy/MM/dd", CultureInfo.InvariantCulture) + "/" + RowKeyBound(cutoff);

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");
}
