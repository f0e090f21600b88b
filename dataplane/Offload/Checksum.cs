using System.Buffers.Binary;

namespace Rekindle.Dataplane.Offload;

/// <summary>The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header sums, over spans.</summary>
public static class Checksum
{
    /// <summary>Adds <paramref name="data"/> as 16-bit big-endian words to a running 32-bit sum.</summary>
    public static ulong Add(ulong sum, ReadOnlySpan<byte> data)
    {
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong word = BinaryPrimitives.ReadUInt64BigEndian(data[i..]);
            sum += (word >> 48) + ((word >> 32) & 0xFFFF) + ((word >> 16) & 0xFFFF) + (word & 0xFFFF);
        }
        for (; i + 2 <= data.Length; i += 2)
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length)
            sum += (ulong)data[i] << 8;
        return sum;
    }

    public static ushort Fold(ulong sum)
    {
        while (sum >> 16 != 0)
            sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    /// <summary>The complemented checksum of <paramref name="data"/> started from <paramref name="sum"/>.</summary>
    public static ushort Compute(ReadOnlySpan<byte> data, ulong sum = 0) => (ushort)~Fold(Add(sum, data));

    /// <summary>The pseudo-header sum of an IPv4 or IPv6 packet for a transport segment of <paramref name="length"/> octets.</summary>
    public static ulong PseudoHeader(ReadOnlySpan<byte> ip, byte protocol, int length)
    {
        bool v6 = ip[0] >> 4 == 6;
        ulong sum = v6 ? Add(0, ip.Slice(8, 32)) : Add(0, ip.Slice(12, 8));
        return sum + protocol + (ulong)length;
    }

    /// <summary>Writes a fresh IPv4 header checksum.</summary>
    public static void SetIpv4Header(Span<byte> ip)
    {
        int headerLength = (ip[0] & 0x0F) * 4;
        ip[10] = ip[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Compute(ip[..headerLength]));
    }
}
