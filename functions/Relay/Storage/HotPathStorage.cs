using System.Net.Sockets;
using Azure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Serverless.Relay.Storage;

/// <summary>The outcome of a hot-path storage read: the value, or <see cref="Failed"/> when storage did not answer in time.</summary>
internal readonly record struct StorageRead<T>(T? Value, bool Failed)
{
    public static StorageRead<T> Failure => new(default, true);
}

/// <summary>
/// Runs the storage reads of the request path under a short deadline (<see cref="HotPathStorageOptions.HotPathTimeout"/>)
/// and turns an unreachable, failing or hanging storage account into a value, so the caller can degrade (no sticky
/// binding, a cached key served past its TTL) instead of failing the request. After a failure, optional reads are
/// skipped for <see cref="HotPathStorageOptions.OutageBackoff"/>: during an outage requests pay nothing, and the
/// outage is logged once when it starts and once when storage answers again, not per request.
/// </summary>
internal sealed partial class HotPathStorage(IOptions<HotPathStorageOptions> options, TimeProvider time, ILogger<HotPathStorage> logger)
{
    private readonly HotPathStorageOptions _options = options.Value;

    // Timestamp until which reads are skipped; 0 while storage is healthy.
    private long _downUntil;
    private int _down;

    /// <summary>The deadline of a read the request can do without.</summary>
    public TimeSpan Timeout => _options.HotPathTimeout;

    /// <summary>How long a failure makes the request path go on without storage.</summary>
    public TimeSpan OutageBackoff => _options.OutageBackoff;

    /// <summary>True while reads are being skipped after a failure.</summary>
    public bool IsDown => Volatile.Read(ref _down) == 1 && time.GetTimestamp() < Volatile.Read(ref _downUntil);

    /// <summary>
    /// Runs <paramref name="read"/> with a token that fires at the deadline. Cancellation by the caller's own token
    /// still throws (the client went away); every storage failure comes back as <see cref="StorageRead{T}.Failed"/>.
    /// </summary>
    /// <param name="what">What is read, for the log (never a key or a value).</param>
    /// <param name="decisive">
    /// True when the request cannot be decided without this read: the longer deadline applies, and storage is asked
    /// even during the back-off (a refused connection fails in milliseconds; the alternative is refusing the client).
    /// </param>
    public async Task<StorageRead<T>> ReadAsync<T>(string what, Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken, bool decisive = false)
    {
        if (!decisive && IsDown)
        {
            return StorageRead<T>.Failure;
        }

        var timeout = decisive ? _options.DecisiveReadTimeout : _options.HotPathTimeout;
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            var value = await read(linked.Token).WaitAsync(linked.Token).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _down, 0) == 1)
            {
                Log.Recovered(logger);
            }

            return new StorageRead<T>(value, false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsStorageFailure(e))
        {
            Volatile.Write(ref _downUntil, time.GetTimestamp() + (long)(_options.OutageBackoff.TotalSeconds * time.TimestampFrequency));
            if (Interlocked.Exchange(ref _down, 1) == 0)
            {
                if (e is OperationCanceledException)
                {
                    Log.TimedOut(logger, what, timeout);
                }
                else
                {
                    Log.Failed(logger, what, e);
                }
            }

            return StorageRead<T>.Failure;
        }
    }

    /// <summary>
    /// NOTE: Azure.Core wraps the last failure of its retries in an <see cref="AggregateException"/>, and a refused
    /// connection surfaces as <see cref="RequestFailedException"/> with status 0; a bug (a parse error) is not caught.
    /// </summary>
    private static bool IsStorageFailure(Exception e) => e switch
    {
        RequestFailedException or HttpRequestException or IOException or SocketException or TimeoutException or OperationCanceledException => true,
        AggregateException aggregate => aggregate.InnerExceptions.All(IsStorageFailure),
        _ => false,
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Storage did not answer reading {What} within {Timeout}; requests go on without storage until it does")]
        public static partial void TimedOut(ILogger logger, string what, TimeSpan timeout);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Storage failed reading {What}; requests go on without storage until it answers")]
        public static partial void Failed(ILogger logger, string what, Exception exception);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Storage answers again")]
        public static partial void Recovered(ILogger logger);
    }
}
