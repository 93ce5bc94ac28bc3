using System.Text.Json;

namespace Serverless.Bench;

/// <summary>
/// A target's time at concurrency 1, request by request, from a loopback capture of a wrk run: the client's request in,
/// the upstream request out, the upstream's answer in, the answer out. That splits what the target adds into its way
/// in (request in → upstream request out) and its way out (the upstream's last answer bytes in → the answer's first
/// bytes out), apart from the upstream's own time and wrk's.
/// </summary>
/// <remarks>
/// wrk's percentiles include wrk's own turnaround (about 45 µs here, as much as the relay's own work), and a CPU
/// profile tells what a process computes, not what a request waits for. The capture's instants are the kernel's, at
/// each send (bench/ANALYSIS.md, "The answer's last bytes before the bookkeeping"). The capture costs the sender a
/// copy per segment, alike for every target, so these runs are apart from the matrix's.
/// </remarks>
internal static class WireSplit
{
    public static int Run(CommandLine options)
    {
        var port = options.Int("port", 0);
        var upstreamPort = options.Int("upstream-port", 0);
        if (port == 0 || upstreamPort == 0)
        {
            throw new CommandLineException("--port and --upstream-port are required");
        }

        var pcap = options.Required("pcap");
        var error = options.Optional("tcpdump-log") is { } log && File.Exists(log) ? WireCapture.Incomplete(File.ReadAllText(log)) : null;
        var split = Split(File.ReadAllBytes(pcap), port, upstreamPort, ref error);
        var line = new Dictionary<string, object?>
        {
            ["target"] = options.Required("target"),
            ["round"] = options.Int("round", 1),
            ["requests"] = split.In.Count,
            ["in_us"] = Percentiles(split.In),
            ["upstream_us"] = Percentiles(split.Upstream),
            ["out_us"] = Percentiles(split.Out),
            ["own_us"] = Percentiles(split.Own),
            ["total_us"] = Percentiles(split.Total),
            ["turnaround_us"] = Percentiles(split.Turnaround),
            ["error"] = error,
        };
        Console.WriteLine(JsonSerializer.Serialize(line));
        return 0;
    }

    /// <summary>Each request's phases, in µs; <c>Own</c> is its way in and its way out together, the target's part of it.</summary>
    internal sealed record Phases(List<double> In, List<double> Upstream, List<double> Out, List<double> Own, List<double> Total, List<double> Turnaround);

    /// <summary>
    /// Walks the capture's segments with payload in order: to <paramref name="port"/> is the client's request, from it the
    /// answer; to <paramref name="upstreamPort"/> the upstream request, from it the upstream's answer. At concurrency 1
    /// one request is on its way at a time, so each instant belongs to the request opened by the last request in.
    /// </summary>
    internal static Phases Split(ReadOnlySpan<byte> pcap, int port, int upstreamPort, ref string? error)
    {
        var phases = new Phases([], [], [], [], [], []);
        if (PcapSegments.TryOpen(pcap, out var capture) is { } notPcap)
        {
            error ??= notPcap;
            return phases;
        }

        // The instants of the request on its way (NaN: not seen yet), and when the previous answer went out.
        double requestIn = double.NaN, upstreamOut = double.NaN, upstreamFirstIn = double.NaN, upstreamLastIn = double.NaN, answerOut = double.NaN;
        foreach (var segment in capture)
        {
            if (segment.PayloadLength == 0)
            {
                continue;
            }

            var ms = segment.Ms;
            if (segment.DestinationPort == port)
            {
                // A request's later segments (a body the client wrote apart) belong to the request already open.
                if (double.IsNaN(requestIn) || !double.IsNaN(answerOut))
                {
                    if (!double.IsNaN(answerOut))
                    {
                        phases.Turnaround.Add((ms - answerOut) * 1000);
                    }

                    (requestIn, upstreamOut, upstreamFirstIn, upstreamLastIn, answerOut) = (ms, double.NaN, double.NaN, double.NaN, double.NaN);
                }
            }
            else if (segment.DestinationPort == upstreamPort)
            {
                if (!double.IsNaN(requestIn) && double.IsNaN(upstreamOut))
                {
                    upstreamOut = ms;
                }
            }
            else if (segment.SourcePort == upstreamPort)
            {
                if (!double.IsNaN(upstreamOut) && double.IsNaN(answerOut))
                {
                    upstreamFirstIn = double.IsNaN(upstreamFirstIn) ? ms : upstreamFirstIn;
                    upstreamLastIn = ms;
                }
            }
            else if (segment.SourcePort == port && !double.IsNaN(upstreamLastIn) && double.IsNaN(answerOut))
            {
                answerOut = ms;
                phases.In.Add((upstreamOut - requestIn) * 1000);
                phases.Upstream.Add((upstreamFirstIn - upstreamOut) * 1000);
                phases.Out.Add((answerOut - upstreamLastIn) * 1000);
                phases.Own.Add((upstreamOut - requestIn + answerOut - upstreamLastIn) * 1000);
                phases.Total.Add((answerOut - requestIn) * 1000);
            }
        }

        if (phases.In.Count == 0)
        {
            error ??= "no request went through the target and its upstream in the capture";
        }

        return phases;
    }

    private static Dictionary<string, double> Percentiles(List<double> values) => new()
    {
        ["p50"] = Math.Round(Stats.Percentile(values, 50), 1),
        ["p90"] = Math.Round(Stats.Percentile(values, 90), 1),
        ["p99"] = Math.Round(Stats.Percentile(values, 99), 1),
        ["mean"] = values.Count == 0 ? 0 : Math.Round(values.Average(), 1),
    };
}
