using System.Buffers.Binary;
using System.Net;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Dataplane.Esp;

/// <summary>A traffic selector prepared for matching raw IP packets: address ranges as integers, protocol and ports.</summary>
public readonly struct SelectorRange
{
    private readonly UInt128 _start, _end;
    private readonly bool _v6;
    private readonly byte _protocol;
    private readonly ushort _startPort, _endPort;

    public SelectorRange(TrafficSelector selector)
    {
        _v6 = selector.TsType == Rekindle.Control.Encoding.TsType.Ipv6AddrRange;
        _start = ToInteger(selector.Start);
        _end = ToInteger(selector.End);
        _protocol = selector.IpProtocol;
        _startPort = selector.StartPort;
        _endPort = selector.EndPort;
        Selector = selector;
    }

    public TrafficSelector Selector { get; }

    private static UInt128 ToInteger(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int written);
        return written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    /// <summary>Whether the packet's source (or destination) address, protocol and port fall within this selector.</summary>
    public bool Matches(in PacketSummary packet, bool source)
    {
        if (packet.IsV6 != _v6)
            return false;
        var address = source ? packet.Source : packet.Destination;
        if (address < _start || address > _end)
            return false;
        if (_protocol != 0 && packet.Protocol != _protocol)
            return false;
        if (_startPort == 0 && _endPort == 65535)
            return true;
        ushort port = source ? packet.SourcePort : packet.DestinationPort;
        return port >= _startPort && port <= _endPort;
    }
}

/// <summary>What selector matching needs from an inner IP packet, read from its headers.</summary>
public readonly record struct PacketSummary(bool IsV6, UInt128 Source, UInt128 Destination, byte Protocol, ushort SourcePort, ushort DestinationPort)
{
    /// <summary>IPv4 (protocol 4 in ESP's next header) or IPv6 (41).</summary>
    public byte NextHeader => IsV6 ? (byte)41 : (byte)4;

    public static bool TryRead(ReadOnlySpan<byte> packet, out PacketSummary summary)
    {
        summary = default;
        if (packet.IsEmpty)
            return false;
        int version = packet[0] >> 4;
        if (version == 4 && packet.Length >= 20)
        {
            int headerLength = (packet[0] & 0x0F) * 4;
            byte protocol = packet[9];
            ReadPorts(packet, headerLength, protocol, BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1FFF, out var sp, out var dp);
            summary = new PacketSummary(false, BinaryPrimitives.ReadUInt32BigEndian(packet[12..]), BinaryPrimitives.ReadUInt32BigEndian(packet[16..]), protocol, sp, dp);
            return headerLength >= 20;
        }
        if (version == 6 && packet.Length >= 40)
        {
            byte protocol = packet[6];
            ReadPorts(packet, 40, protocol, 0, out var sp, out var dp);
            summary = new PacketSummary(true, BinaryPrimitives.ReadUInt128BigEndian(packet[8..]), BinaryPrimitives.ReadUInt128BigEndian(packet[24..]), protocol, sp, dp);
            return true;
        }
        return false;
    }

    private static void ReadPorts(ReadOnlySpan<byte> packet, int offset, byte protocol, int fragmentOffset, out ushort source, out ushort destination)
    {
        source = destination = 0;
        if (fragmentOffset == 0 && protocol is 6 or 17 or 132 && packet.Length >= offset + 4)
        {
            source = BinaryPrimitives.ReadUInt16BigEndian(packet[offset..]);
            destination = BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]);
        }
    }
}
