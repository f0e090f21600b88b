using System.Buffers.Binary;

namespace Rekindle.Dataplane.Offload;

/// <summary>
/// Segmentation offload done in user space: a TUN device with TSO hands over one large TCP segment (up to 64 KB) with
/// a virtio_net_hdr; it is cut here into MSS-sized packets with their own IP and TCP headers and checksums, so that
/// each becomes one ESP packet. Packets without GSO only get their pending checksum completed.
/// </summary>
public static class TcpSegmentation
{
    /// <summary>
    /// Cuts <paramref name="packet"/> (without the virtio header) into segments; <paramref name="emit"/> receives each
    /// finished packet in <paramref name="scratch"/> space. Returns the number of packets emitted, 0 if malformed.
    /// </summary>
    public static int Segment(in VirtioNetHeader header, Span<byte> packet, SegmentSink emit)
    {
        if (header.GsoType == VirtioNetHeader.GsoNone)
        {
            if ((header.Flags & VirtioNetHeader.NeedsChecksum) != 0 && !CompleteChecksum(header, packet))
                return 0;
            emit(packet);
            return 1;
        }
        byte gso = (byte)(header.GsoType & ~VirtioNetHeader.GsoEcn);
        if (gso != VirtioNetHeader.GsoTcpV4 && gso != VirtioNetHeader.GsoTcpV6 || header.GsoSize == 0)
            return 0;
        bool v6 = gso == VirtioNetHeader.GsoTcpV6;
        int ipLength = v6 ? 40 : (packet[0] & 0x0F) * 4;
        if (packet.Length < ipLength + 20)
            return 0;
        int tcpLength = (packet[ipLength + 12] >> 4) * 4;
        int headers = ipLength + tcpLength;
        if (headers > packet.Length)
            return 0;
        if (headers > 128)
            return 0;
        Span<byte> template = stackalloc byte[headers];
        packet[..headers].CopyTo(template);
        uint sequence = BinaryPrimitives.ReadUInt32BigEndian(template[(ipLength + 4)..]);
        ushort ipId = v6 ? (ushort)0 : BinaryPrimitives.ReadUInt16BigEndian(template[4..]);
        byte flags = template[ipLength + 13];
        var payload = packet[headers..];
        int count = 0;
        Span<byte> segment = stackalloc byte[headers + header.GsoSize];
        for (int offset = 0; offset < payload.Length; offset += header.GsoSize)
        {
            int length = Math.Min(header.GsoSize, payload.Length - offset);
            bool first = offset == 0, last = offset + length >= payload.Length;
            var out_ = segment[..(headers + length)];
            template.CopyTo(out_);
            payload.Slice(offset, length).CopyTo(out_[headers..]);
            if (v6)
            {
                BinaryPrimitives.WriteUInt16BigEndian(out_[4..], (ushort)(tcpLength + length));
            }
            else
            {
                BinaryPrimitives.WriteUInt16BigEndian(out_[2..], (ushort)(headers + length));
                BinaryPrimitives.WriteUInt16BigEndian(out_[4..], (ushort)(ipId + count));
                Checksum.SetIpv4Header(out_);
            }
            var tcp = out_[ipLength..];
            BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], sequence + (uint)offset);
            byte segmentFlags = flags;
            if (!last)
                segmentFlags &= unchecked((byte)~0x09); // FIN and PSH only on the last segment
            if (!first)
                segmentFlags &= unchecked((byte)~0x80); // CWR only on the first
            tcp[13] = segmentFlags;
            tcp[16] = tcp[17] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum.Compute(tcp, Checksum.PseudoHeader(out_, 6, tcp.Length)));
            emit(out_);
            count++;
        }
        return count;
    }

    /// <summary>Finishes a checksum the kernel left partial (the pseudo-header sum is already in the field).</summary>
    private static bool CompleteChecksum(in VirtioNetHeader header, Span<byte> packet)
    {
        int start = header.ChecksumStart, field = start + header.ChecksumOffset;
        if (field + 2 > packet.Length || start > packet.Length)
            return false;
        ushort sum = Checksum.Compute(packet[start..]);
        BinaryPrimitives.WriteUInt16BigEndian(packet[field..], sum);
        return true;
    }

    public delegate void SegmentSink(Span<byte> packet);
}
