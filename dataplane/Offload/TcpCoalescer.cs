using System.Buffers.Binary;

namespace Rekindle.Dataplane.Offload;

/// <summary>
/// Receive offload done in user space: consecutive TCP segments of one flow, decrypted from one batch, are joined into
/// one large segment written to the TUN device with a virtio_net_hdr (GSO TCPv4, checksum pending), so the kernel's
/// TCP stack handles one packet where it would handle dozens. Anything else passes through unchanged.
/// </summary>
public sealed class TcpCoalescer(Action<ReadOnlySpan<byte>> write)
{
    private const int MaxSize = 65535;
    private readonly byte[] _buffer = new byte[VirtioNetHeader.Size + MaxSize + 64];
    private int _length;          // IP packet bytes in _buffer after the virtio header
    private int _segments;
    private int _segmentSize;     // payload of the first segment: the GSO size
    private int _lastPayload;
    private int _headers;         // IP + TCP header length
    private uint _nextSequence;

    private Span<byte> Packet => _buffer.AsSpan(VirtioNetHeader.Size, _length);

    /// <summary>Adds one decrypted packet; <paramref name="packet"/> must have 10 writable octets in front of it (<paramref name="room"/>).</summary>
    public void Add(Span<byte> room, Span<byte> packet)
    {
        if (_segments > 0 && TryAppend(packet))
            return;
        Flush();
        if (IsCandidate(packet, out int headers, out int payload))
        {
            packet.CopyTo(_buffer.AsSpan(VirtioNetHeader.Size));
            _length = packet.Length;
            _segments = 1;
            _headers = headers;
            _segmentSize = payload;
            _lastPayload = payload;
            _nextSequence = BinaryPrimitives.ReadUInt32BigEndian(packet[24..]) + (uint)payload;
            if ((packet[33] & 0x08) != 0)
                Flush(); // PSH: deliver now
            return;
        }
        // Not coalescible: write it as it is, with an empty virtio header in the room before it.
        var framed = room[^VirtioNetHeader.Size..];
        framed.Clear();
        write(Framed(room, packet));
    }

    /// <summary>The virtio header at the end of <paramref name="room"/> and the packet right after it, as one span.</summary>
    private static ReadOnlySpan<byte> Framed(Span<byte> room, Span<byte> packet) =>
        System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(ref room[^VirtioNetHeader.Size], VirtioNetHeader.Size + packet.Length);

    /// <summary>A plain IPv4 TCP segment with data and only ACK (or ACK+PSH) set.</summary>
    private static bool IsCandidate(ReadOnlySpan<byte> p, out int headers, out int payload)
    {
        headers = payload = 0;
        if (p.Length < 40 || p[0] != 0x45 || p[9] != 6 || (BinaryPrimitives.ReadUInt16BigEndian(p[6..]) & 0x3FFF) != 0)
            return false;
        int tcpLength = (p[32] >> 4) * 4;
        headers = 20 + tcpLength;
        int total = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (total != p.Length || headers > total || (p[33] & ~0x08) != 0x10)
            return false;
        payload = total - headers;
        return payload > 0;
    }

    private bool TryAppend(ReadOnlySpan<byte> p)
    {
        var first = Packet;
        if (!IsCandidate(p, out int headers, out int payload) || headers != _headers || _lastPayload != _segmentSize
            || payload > _segmentSize || _length + payload > MaxSize)
            return false;
        // Same flow and header: addresses, ports, TOS, TTL, DF, ack, window and options; contiguous sequence numbers.
        if (!p[12..24].SequenceEqual(first[12..24]) || p[1] != first[1] || p[8] != first[8] || p[6] != first[6]
            || !p[28..32].SequenceEqual(first[28..32]) || !p[34..36].SequenceEqual(first[34..36])
            || !p[40..headers].SequenceEqual(first[40..headers])
            || BinaryPrimitives.ReadUInt32BigEndian(p[24..]) != _nextSequence)
            return false;
        p[headers..].CopyTo(_buffer.AsSpan(VirtioNetHeader.Size + _length));
        _length += payload;
        _segments++;
        _lastPayload = payload;
        _nextSequence += (uint)payload;
        if ((p[33] & 0x08) != 0)
        {
            _buffer[VirtioNetHeader.Size + 33] |= 0x08;
            Flush();
        }
        return true;
    }

    /// <summary>Writes what is pending: one packet as it was, or the joined segment with its GSO header.</summary>
    public void Flush()
    {
        if (_segments == 0)
            return;
        var packet = Packet;
        VirtioNetHeader header;
        if (_segments == 1)
        {
            header = default;
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(packet[2..], (ushort)_length);
            Checksum.SetIpv4Header(packet);
            // The TCP checksum field carries the pseudo-header sum; the kernel finishes it (NEEDS_CSUM).
            ushort pseudo = Checksum.Fold(Checksum.PseudoHeader(packet, 6, _length - 20));
            BinaryPrimitives.WriteUInt16BigEndian(packet[36..], pseudo);
            header = new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoTcpV4, (ushort)_headers, (ushort)_segmentSize, 20, 16);
        }
        header.Write(_buffer);
        write(_buffer.AsSpan(0, VirtioNetHeader.Size + _length));
        _segments = 0;
        _length = 0;
    }
}
