using System.Buffers.Binary;

namespace Rekindle.Dataplane.Offload;

/// <summary>
/// struct virtio_net_hdr (10 octets, little-endian, before each packet on a TUN device with IFF_VNET_HDR): how a
/// large segment is to be cut (GSO) and where its checksum goes.
/// <code>
/// u8 flags; u8 gso_type; le16 hdr_len; le16 gso_size; le16 csum_start; le16 csum_offset;
/// </code>
/// </summary>
public record struct VirtioNetHeader(byte Flags, byte GsoType, ushort HeaderLength, ushort GsoSize, ushort ChecksumStart, ushort ChecksumOffset)
{
    public const int Size = 10;
    public const byte NeedsChecksum = 1, DataValid = 2;
    public const byte GsoNone = 0, GsoTcpV4 = 1, GsoUdp = 3, GsoTcpV6 = 4, GsoEcn = 0x80;

    public static VirtioNetHeader Read(ReadOnlySpan<byte> source) => new(source[0], source[1],
        BinaryPrimitives.ReadUInt16LittleEndian(source[2..]), BinaryPrimitives.ReadUInt16LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt16LittleEndian(source[6..]), BinaryPrimitives.ReadUInt16LittleEndian(source[8..]));

    public readonly void Write(Span<byte> destination)
    {
        destination[0] = Flags;
        destination[1] = GsoType;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], GsoSize);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], ChecksumStart);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], ChecksumOffset);
    }
}
