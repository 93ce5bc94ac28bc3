using OpenTelemetry.Trace;

namespace Serverless.Handler.Telemetry;

/// <summary>
/// Samples at most <c>perSecond</c> new traces a second (up to a second's worth at once after a quiet spell), drops the
/// rest: at a few requests a second every one is traced, and under load the cost of recording and exporting spans stays
/// flat instead of growing with the request rate. The relay's default root sampler, inside a parent-based one.
/// </summary>
/// <remarks>
/// NOTE: a generic cell rate algorithm on one <see langword="long"/>: <c>_next</c> is the time budget already spent up
/// to. Granting a trace moves it one interval forward and is allowed while it stays at or before now; a drop (the common
/// case under load) is one read and a compare, no write, so busy threads do not contend on the field.
/// </remarks>
internal sealed class TracesPerSecondSampler : Sampler
{
    private readonly TimeProvider _clock;
    private readonly long _interval;
    private readonly long _burst;
    private long _next = long.MinValue / 2;

    public TracesPerSecondSampler(double perSecond, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(perSecond);
        _clock = clock;
        _burst = clock.TimestampFrequency;
        _interval = perSecond == 0 ? long.MaxValue / 4 : Math.Max(1, (long)(clock.TimestampFrequency / perSecond));
        Description = $"TracesPerSecond{{{perSecond}}}";
    }

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        var now = _clock.GetTimestamp();
        while (true)
        {
            var spent = Volatile.Read(ref _next);
            var next = Math.Max(spent, now - _burst) + _interval;
            if (next > now)
            {
                return new SamplingResult(SamplingDecision.Drop);
            }

            if (Interlocked.CompareExchange(ref _next, next, spent) == spent)
            {
                return new SamplingResult(SamplingDecision.RecordAndSample);
            }
        }
    }
}
