using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Serverless.Relay.Keys;

/// <summary>
/// Slows down repeated failed authentications per client address (issue 8: made-up keys were a cheap way to run up
/// storage reads). Each failure adds one to the address's score, which drains by one per
/// <see cref="FailedAuthThrottleOptions.ForgiveEvery"/>; at <see cref="FailedAuthThrottleOptions.Burst"/> the address
/// is refused, without a lookup, until one more failure would stay within it. A refused attempt adds nothing, so a client that
/// honours Retry-After gets in as soon as it is told. Decided in memory, per instance; any credential check can use it
/// (relay keys, the admin key).
/// </summary>
internal sealed partial class FailedAuthThrottle
{
    /// <summary>Bounds memory under a flood from many addresses; past it, addresses whose score drained are dropped.</summary>
    public const int MaxAddresses = 100_000;

    private readonly TimeProvider _time;
    private readonly ILogger<FailedAuthThrottle> _logger;
    private readonly double _burst;
    private readonly long _forgiveTicks;
    private readonly ConcurrentDictionary<string, Score> _scores = new(StringComparer.Ordinal);

    public FailedAuthThrottle(IOptions<FailedAuthThrottleOptions> options, TimeProvider time, ILogger<FailedAuthThrottle> logger)
    {
        _time = time;
        _logger = logger;
        _burst = options.Value.Burst;
        _forgiveTicks = Math.Max(1, (long)(options.Value.ForgiveEvery.TotalSeconds * time.TimestampFrequency));
    }

    /// <summary>How long <paramref name="client"/> must wait before its next attempt, or null when it may try now.</summary>
    public TimeSpan? RetryAfter(string client)
    {
        if (!_scores.TryGetValue(client, out var score))
        {
            return null;
        }

        lock (score)
        {
            var now = _time.GetTimestamp();
            var excess = score.ValueAt(now, _forgiveTicks) - (_burst - 1);
            if (excess <= 0)
            {
                return null;
            }

            // Until one more failure would stay within the burst.
            return TimeSpan.FromSeconds(excess * _forgiveTicks / _time.TimestampFrequency);
        }
    }

    /// <summary>Counts a failed attempt of <paramref name="client"/>.</summary>
    public void Failed(string client)
    {
        if (_scores.Count >= MaxAddresses)
        {
            Trim();
        }

        var score = _scores.GetOrAdd(client, static _ => new Score());
        lock (score)
        {
            var now = _time.GetTimestamp();
            var before = score.ValueAt(now, _forgiveTicks);
            score.Value = before + 1;
            score.UpdatedAt = now;
            if (before <= _burst - 1 && score.Value > _burst - 1)
            {
                Log.Throttled(_logger, client);
            }
        }
    }

    /// <summary>
    /// The address to throttle: the connection's peer, or behind the Functions host (a loopback peer) the last
    /// <c>X-Forwarded-For</c> entry, which the platform's front end appends.
    /// NOTE: only a loopback peer is trusted with the header; anyone else could otherwise rotate it to escape.
    /// </summary>
    public static string ClientOf(HttpContext context)
    {
        var peer = context.Connection.RemoteIpAddress;
        if (peer is null || IPAddress.IsLoopback(peer))
        {
            var forwarded = context.Request.Headers["X-Forwarded-For"].ToString();
            var last = forwarded[(forwarded.LastIndexOf(',') + 1)..].Trim();
            if (IPEndPoint.TryParse(last, out var endPoint))
            {
                return endPoint.Address.ToString();
            }
        }

        return peer?.ToString() ?? "";
    }

    private void Trim()
    {
        var now = _time.GetTimestamp();
        foreach (var (client, score) in _scores)
        {
            bool drained;
            lock (score)
            {
                drained = score.ValueAt(now, _forgiveTicks) <= 0;
            }

            if (drained)
            {
                _scores.TryRemove(new KeyValuePair<string, Score>(client, score));
            }
        }

        if (_scores.Count >= MaxAddresses)
        {
            // NOTE: a flood from this many addresses is beyond what a per-address count can stop; stay bounded.
            _scores.Clear();
        }
    }

    private sealed class Score
    {
        public double Value;
        public long UpdatedAt;

        public double ValueAt(long now, long forgiveTicks) => Math.Max(0, Value - ((double)(now - UpdatedAt) / forgiveTicks));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Too many failed authentications from {Client}; slowing it down")]
        public static partial void Throttled(ILogger logger, string client);
    }
}
