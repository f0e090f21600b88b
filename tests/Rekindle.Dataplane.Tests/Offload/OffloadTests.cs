using System.Buffers.Binary;
using Rekindle.Dataplane.Offload;

namespace Rekindle.Dataplane.Tests.Offload;

public class OffloadTests
{
    /// <summary>A TCP/IPv4 super-segment as a TUN device with TSO hands it over: checksum field holds the pseudo-header sum.</summary>
    private static (VirtioNetHeader Header, byte[] Packet, byte[] Payload) LargeSegment(int payloadLength, ushort mss, byte flags = 0x18)
    {
        var payload = new byte[payloadLength];
        new Random(7).NextBytes(payload);
        var packet = new byte[20 + 32 + payloadLength];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), 1000);
        packet[6] = 0x40; // DF
        packet[8] = 64;
        packet[9] = 6;
        new byte[] { 10, 1, 0, 1, 10, 2, 0, 1 }.CopyTo(packet, 12);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(20), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(22), 5201);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(24), 0xfffff000); // wraps within the segment
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(28), 77);
        packet[32] = 8 << 4;
        packet[33] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(34), 501);
        packet[40] = 1; packet[41] = 1; packet[42] = 8; packet[43] = 10; // NOP NOP timestamp
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(44), 123456);
        payload.CopyTo(packet, 52);
        Checksum.SetIpv4Header(packet);
        ushort pseudo = Checksum.Fold(Checksum.PseudoHeader(packet, 6, packet.Length - 20));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(36), pseudo);
        var header = new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoTcpV4, 52, mss, 20, 16);
        return (header, packet, payload);
    }

    private static bool Valid(ReadOnlySpan<byte> packet) =>
        Checksum.Compute(packet[..20]) == 0 && Checksum.Compute(packet[20..], Checksum.PseudoHeader(packet, 6, packet.Length - 20)) == 0;

    [Fact]
    public void LargeSegmentIsCutIntoValidPacketsAndJoinedBackWhole()
    {
        var (header, packet, payload) = LargeSegment(10_000, 1348);
        var segments = new List<byte[]>();
        int count = TcpSegmentation.Segment(header, packet, s => segments.Add(s.ToArray()));
        Assert.Equal(8, count);
        uint sequence = 0xfffff000;
        for (int i = 0; i < segments.Count; i++)
        {
            var s = segments[i];
            Assert.True(Valid(s), $"segment {i} checksum");
            Assert.Equal(sequence, BinaryPrimitives.ReadUInt32BigEndian(s.AsSpan(24)));
            Assert.Equal((ushort)(1000 + i), BinaryPrimitives.ReadUInt16BigEndian(s.AsSpan(4)));
            Assert.Equal(i == segments.Count - 1 ? 0x18 : 0x10, s[33]); // PSH only on the last
            sequence += (uint)(s.Length - 52);
        }
        Assert.Equal(payload, segments.SelectMany(s => s.Skip(52)).ToArray());

        // Joined again by the receive side: one write with a GSO header, the same bytes.
        var writes = new List<byte[]>();
        var coalescer = new TcpCoalescer(w => writes.Add(w.ToArray()));
        foreach (var s in segments)
        {
            var room = new byte[16 + s.Length];
            s.CopyTo(room, 16);
            coalescer.Add(room.AsSpan(0, 16), room.AsSpan(16));
        }
        coalescer.Flush();
        var joined = Assert.Single(writes);
        var gso = VirtioNetHeader.Read(joined);
        Assert.Equal(VirtioNetHeader.GsoTcpV4, gso.GsoType);
        Assert.Equal(1348, gso.GsoSize);
        Assert.Equal(52, gso.HeaderLength);
        var ip = joined.AsSpan(VirtioNetHeader.Size);
        Assert.Equal(ip.Length, BinaryPrimitives.ReadUInt16BigEndian(ip[2..]));
        Assert.Equal(0, Checksum.Compute(ip[..20]));
        Assert.Equal(payload, ip[52..].ToArray());
        Assert.Equal(0x18, ip[33]);
    }

    [Fact]
    public void PacketsThatCannotJoinPassThroughWithAnEmptyHeader()
    {
        var (header, packet, _) = LargeSegment(4000, 1348);
        var segments = new List<byte[]>();
        TcpSegmentation.Segment(header, packet, s => segments.Add(s.ToArray()));
        // Out of order: the third segment before the second.
        (segments[1], segments[2]) = (segments[2], segments[1]);
        var writes = new List<byte[]>();
        var coalescer = new TcpCoalescer(w => writes.Add(w.ToArray()));
        var ping = new byte[16 + 28];
        ping[16] = 0x45; ping[16 + 9] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(ping.AsSpan(18), 28);
        foreach (var s in segments.Append(ping[16..]))
        {
            var room = new byte[16 + s.Length];
            s.CopyTo(room, 16);
            coalescer.Add(room.AsSpan(0, 16), room.AsSpan(16));
        }
        coalescer.Flush();
        Assert.True(writes.Count >= 3);
        Assert.All(writes, w => Assert.True(Valid(w.AsSpan(VirtioNetHeader.Size)) || w[VirtioNetHeader.Size + 9] == 1 || VirtioNetHeader.Read(w).GsoType != 0));
        Assert.Contains(writes, w => w[VirtioNetHeader.Size + 9] == 1 && VirtioNetHeader.Read(w) == default);
    }

    [Fact]
    public void NonGsoPacketsGetTheirPendingChecksumCompleted()
    {
        var (_, packet, _) = LargeSegment(500, 1348);
        var header = new VirtioNetHeader(VirtioNetHeader.NeedsChecksum, VirtioNetHeader.GsoNone, 0, 0, 20, 16);
        byte[]? emitted = null;
        Assert.Equal(1, TcpSegmentation.Segment(header, packet, s => emitted = s.ToArray()));
        Assert.True(Valid(emitted));
    }
}
