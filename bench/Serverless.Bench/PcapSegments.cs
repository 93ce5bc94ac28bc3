using System.Buffers.Binary;

namespace Serverless.Bench;

/// <summary>One TCP segment of a capture.</summary>
/// <param name="Ms">When the kernel passed it to the capture, in ms since the epoch (the sender's send, on the loopback).</param>
/// <param name="Connection">Its source and destination ports as one number: a connection, within one sender's segments.</param>
/// <param name="PayloadLength">Its payload's length as the IP header gives it, even when the capture kept less.</param>
/// <param name="Payload">The part of the payload the capture kept (all of it with tcpdump's <c>-s 0</c>).</param>
internal readonly ref struct TcpSegmentView(double ms, uint connection, uint sequence, int payloadLength, ReadOnlySpan<byte> payload)
{
    public double Ms { get; } = ms;

    public uint Connection { get; } = connection;

    public ushort SourcePort => (ushort)(Connection >> 16);

    public ushort DestinationPort => (ushort)Connection;

    public uint Sequence { get; } = sequence;

    public int PayloadLength { get; } = payloadLength;

    public ReadOnlySpan<byte> Payload { get; } = payload;
}

/// <summary>
/// The TCP segments of a little-endian pcap file (what tcpdump <c>-w</c> writes here), in capture order. Shared by
/// the counts made on the wire: merged stream events (<see cref="WireCapture"/>) and a request's way through a
/// target (<see cref="WireSplit"/>).
/// </summary>
internal ref struct PcapSegments
{
    private readonly ReadOnlySpan<byte> _pcap;
    private readonly double _fractionPerMs;
    private readonly uint _linkType;
    private int _at;

    private PcapSegments(ReadOnlySpan<byte> pcap, double fractionPerMs, uint linkType)
    {
        _pcap = pcap;
        _fractionPerMs = fractionPerMs;
        _linkType = linkType;
        _at = 24;
    }

    /// <summary>The segments of <paramref name="pcap"/>; null, with the reason, when it is no pcap file this reads.</summary>
    public static string? TryOpen(ReadOnlySpan<byte> pcap, out PcapSegments segments)
    {
        segments = default;
        var magic = pcap.Length < 24 ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(pcap);
        if (magic is not (0xa1b2c3d4 or 0xa1b23c4d))
        {
            return "not a little-endian pcap file";
        }

        // The second magic number stamps packets in nanoseconds, the first in microseconds.
        segments = new PcapSegments(pcap, magic == 0xa1b23c4d ? 1_000_000.0 : 1_000.0, BinaryPrimitives.ReadUInt32LittleEndian(pcap[20..]));
        return null;
    }

    public TcpSegmentView Current { get; private set; }

    /// <summary>Moves to the next TCP segment, skipping frames that hold none.</summary>
    public bool MoveNext()
    {
        while (_at + 16 <= _pcap.Length)
        {
            var record = _pcap[_at..];
            var ms = BinaryPrimitives.ReadUInt32LittleEndian(record) * 1000.0 + BinaryPrimitives.ReadUInt32LittleEndian(record[4..]) / _fractionPerMs;
            var captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(record[8..]);
            var frame = record.Slice(16, Math.Min(captured, record.Length - 16));
            _at += 16 + captured;
            if (TryTcp(frame, _linkType, out var tcp, out var ipPayloadLength) && tcp.Length >= 20 && (tcp[12] >> 4) * 4 is var header && header <= tcp.Length)
            {
                Current = new TcpSegmentView(ms, BinaryPrimitives.ReadUInt32BigEndian(tcp), BinaryPrimitives.ReadUInt32BigEndian(tcp[4..]),
                    Math.Max(0, ipPayloadLength - header), tcp[header..]);
                return true;
            }
        }

        return false;
    }

    public readonly PcapSegments GetEnumerator() => this;

    /// <summary>The TCP header and what follows it in <paramref name="frame"/>, and the IP payload's full length.</summary>
    private static bool TryTcp(ReadOnlySpan<byte> frame, uint linkType, out ReadOnlySpan<byte> tcp, out int ipPayloadLength)
    {
        tcp = default;
        ipPayloadLength = 0;

        // Where the network layer starts, and its protocol, by link type: Ethernet (what Linux's loopback gives), Linux
        // cooked v1 and v2.
        var (start, protocolAt) = linkType switch
        {
            1 => (14, 12),
            113 => (16, 14),
            276 => (20, 0),
            _ => (-1, 0),
        };
        if (start < 0 || frame.Length < start)
        {
            return false;
        }

        var ip = frame[start..];
        switch (BinaryPrimitives.ReadUInt16BigEndian(frame[protocolAt..]))
        {
            case 0x0800 when ip.Length >= 20 && ip[9] == 6 && (ip[0] & 0x0f) * 4 is var ipHeader && ipHeader <= ip.Length:
                tcp = ip[ipHeader..];
                ipPayloadLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]) - ipHeader;
                return true;
            case 0x86dd when ip.Length >= 40 && ip[6] == 6:
                tcp = ip[40..];
                ipPayloadLength = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
                return true;
            default:
                return false;
        }
    }
}
