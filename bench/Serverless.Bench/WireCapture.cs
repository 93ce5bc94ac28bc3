using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Serverless.Bench;

/// <summary>What a gateway's sends did to a paced stream's events, counted on the wire.</summary>
/// <param name="Segments">TCP segments from the target's port that carried a paced content event.</param>
/// <param name="Events">Paced content events in them.</param>
/// <param name="Merged">Events that shared a segment with the one before: the target read or wrote them together.</param>
/// <param name="Retransmitted">Segments left out because they carried bytes their connection had already sent.</param>
/// <param name="GapMaxMs">The longest time between two segments with content events on one connection: the target's own stalls, without the client's late reads.</param>
/// <param name="Error">Why there is no count (no tcpdump, packets dropped); null when the count stands.</param>
internal readonly record struct WireCount(long Segments, long Events, long Merged, long Retransmitted, double GapMaxMs, string? Error);

/// <summary>
/// Captures the TCP segments a target sends on the loopback while paced streams run (tcpdump), and counts the paced
/// content events each segment carries.
/// </summary>
/// <remarks>
/// The stream client counts two events as merged when one of its reads returned both. That also happens when the
/// client itself reads late: it shares the load CPU with the mock upstream, and a capture of the relay's segments
/// showed most of the client's merges in segments the relay had sent apart (bench/ANALYSIS.md, "Merged events: the
/// client's, the collector's"). A segment is one write of the target's (loopback, no Nagle), so two paced events in
/// one segment are the target's merge, whatever the client does. The client connects from an address of its own
/// (<see cref="ClientAddress"/>), so the capture takes only the segments sent to it, not the unpaced load wrk sends
/// through the same port at the same time; each chunk's model name is checked as well.
/// </remarks>
internal sealed class WireCapture
{
    /// <summary>The loopback address the measured client connects from (Linux routes all of 127.0.0.0/8 to lo).</summary>
    public static readonly IPAddress ClientAddress = IPAddress.Parse("127.0.0.2");

    private static readonly byte[] ContentMarker = "\"delta\""u8.ToArray();
    private static readonly byte[] DoneMarker = "data: [DONE]"u8.ToArray();

    private readonly Process _tcpdump;
    private readonly string _file;
    private readonly byte[] _streamMarker;

    private WireCapture(Process tcpdump, string file, byte[] streamMarker)
    {
        _tcpdump = tcpdump;
        _file = file;
        _streamMarker = streamMarker;
    }

    /// <summary>Starts capturing what leaves <paramref name="port"/>; returns the reason instead when it cannot.</summary>
    public static async Task<(WireCapture? Capture, string? Error)> StartAsync(int port, string streamMarker)
    {
        var file = Path.Combine(Path.GetTempPath(), $"bench-wire-{Environment.ProcessId}-{port}.pcap");
        var start = new ProcessStartInfo("tcpdump")
        {
            // --immediate-mode and -U take each packet from the kernel and write it as it comes: otherwise the kernel
            // hands packets over in blocks, and the last block of a run was lost when tcpdump stopped. -B is the
            // kernel's buffer in KiB, room for every segment of a run.
            ArgumentList = { "-i", "lo", "-s", "0", "--immediate-mode", "-U", "-B", "65536", "-w", file, $"tcp src port {port} and dst host {ClientAddress}" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        Process tcpdump;
        try
        {
            tcpdump = Process.Start(start) ?? throw new InvalidOperationException("tcpdump did not start");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return (null, $"no capture: {e.Message}");
        }

        // tcpdump says "listening on lo" once the capture is open; what it writes before that, or its exit, is why not.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var said = new StringBuilder();
        try
        {
            while (await tcpdump.StandardError.ReadLineAsync(deadline.Token) is { } line)
            {
                if (line.Contains("listening on", StringComparison.Ordinal))
                {
                    return (new WireCapture(tcpdump, file, Encoding.UTF8.GetBytes(streamMarker)), null);
                }

                said.AppendLine(line);
            }
        }
        catch (OperationCanceledException)
        {
            said.Append("no answer in 10 s");
        }

        tcpdump.Kill();
        await tcpdump.WaitForExitAsync();
        return (null, $"no capture: tcpdump: {said.ToString().Trim()}");
    }

    /// <summary>An HTTP connection from <see cref="ClientAddress"/>, for <see cref="SocketsHttpHandler.ConnectCallback"/>.</summary>
    public static async ValueTask<Stream> ConnectFromClientAddressAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(ClientAddress, 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Stops the capture and counts it.</summary>
    public async Task<WireCount> StopAsync()
    {
        // Segments still in flight when the last stream ended reach the capture within this.
        await Task.Delay(200);
        using (var interrupt = Process.Start("kill", ["-INT", _tcpdump.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await interrupt.WaitForExitAsync();
        }

        var said = await _tcpdump.StandardError.ReadToEndAsync();
        await _tcpdump.WaitForExitAsync();
        try
        {
            var count = Count(await File.ReadAllBytesAsync(_file), _streamMarker);
            return Incomplete(said) is { } incomplete ? count with { Error = incomplete } : count;
        }
        finally
        {
            File.Delete(_file);
        }
    }

    /// <summary>Why a capture is incomplete, from what tcpdump said as it stopped ("N packets dropped by kernel"); null when it is not.</summary>
    public static string? Incomplete(string tcpdumpSaid) =>
        tcpdumpSaid.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("dropped by kernel", StringComparison.Ordinal)) is { } dropped
        && !dropped.StartsWith("0 ", StringComparison.Ordinal)
            ? $"capture incomplete: {dropped}"
            : null;

    /// <summary>Counts a pcap file's TCP segments that carry <paramref name="streamMarker"/> and their content events.</summary>
    public static WireCount Count(ReadOnlySpan<byte> pcap, ReadOnlySpan<byte> streamMarker)
    {
        if (PcapSegments.TryOpen(pcap, out var capture) is { } notPcap)
        {
            return new WireCount(0, 0, 0, 0, 0, notPcap);
        }

        long segments = 0, events = 0, merged = 0, retransmitted = 0;

        // A retransmitted segment repeats events that were counted when first sent (hand runs counted up to 21 more
        // events than were sent). The capture holds one sender, so a connection is its ports; the next sequence
        // number each has sent tells a repeat, compared modulo 2^32 as TCP does.
        var nextSequence = new Dictionary<uint, uint>();
        var lastContentAt = new Dictionary<uint, double>();
        var gapMax = 0.0;
        foreach (var segment in capture)
        {
            var payload = segment.Payload;
            if (segment.PayloadLength == 0)
            {
                continue;
            }

            var connection = segment.Connection;
            if (nextSequence.TryGetValue(connection, out var next) && (int)(segment.Sequence - next) < 0)
            {
                retransmitted++;
                continue;
            }

            nextSequence[connection] = segment.Sequence + (uint)segment.PayloadLength;
            if (payload.IndexOf(streamMarker) >= 0 && payload.Count(ContentMarker) is var inSegment and > 0)
            {
                if (lastContentAt.TryGetValue(connection, out var lastAt))
                {
                    gapMax = Math.Max(gapMax, segment.Ms - lastAt);
                }

                lastContentAt[connection] = segment.Ms;
                segments++;
                events += inSegment;
                merged += inSegment - 1;
            }

            // The client keeps its connection for the next stream: the wait for that one's first event is no gap in this one.
            if (payload.IndexOf(DoneMarker) >= 0)
            {
                lastContentAt.Remove(connection);
            }
        }

        return new WireCount(segments, events, merged, retransmitted, gapMax, null);
    }
}
