using System.Buffers.Binary;

namespace Rekindle.Dataplane.Capture;

/// <summary>
/// Writes pcapng (draft-ietf-opsawg-pcapng): a Section Header Block, one Interface Description Block, and an
/// Enhanced Packet Block per frame with microsecond timestamps.
/// </summary>
public sealed class PcapNgWriter : IDisposable
{
    private readonly Stream _stream;

    public PcapNgWriter(Stream stream, ushort linkType, string interfaceName)
    {
        _stream = stream;
        // Section Header Block: byte-order magic, version 1.0, section length unknown (-1).
        Span<byte> shb = stackalloc byte[28];
        BinaryPrimitives.WriteUInt32LittleEndian(shb, 0x0A0D0D0A);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[4..], 28);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[8..], 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(shb[12..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(shb[14..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(shb[16..], -1);
        BinaryPrimitives.WriteUInt32LittleEndian(shb[24..], 28);
        _stream.Write(shb);
        // Interface Description Block with an if_name option (2).
        var name = System.Text.Encoding.UTF8.GetBytes(interfaceName);
        int nameOption = 4 + Pad(name.Length);
        int length = 20 + nameOption + 4;
        var idb = new byte[length];
        BinaryPrimitives.WriteUInt32LittleEndian(idb, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(idb.AsSpan(4), (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(idb.AsSpan(8), linkType);
        BinaryPrimitives.WriteUInt32LittleEndian(idb.AsSpan(12), 262144); // snap length
        BinaryPrimitives.WriteUInt16LittleEndian(idb.AsSpan(16), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(idb.AsSpan(18), (ushort)name.Length);
        name.CopyTo(idb, 20);
        // opt_endofopt is the zeroed 4 octets before the trailing length
        BinaryPrimitives.WriteUInt32LittleEndian(idb.AsSpan(length - 4), (uint)length);
        _stream.Write(idb);
    }

    public int Count { get; private set; }

    public void Write(DateTimeOffset timestamp, ReadOnlySpan<byte> frame)
    {
        int length = 28 + Pad(frame.Length) + 4;
        var epb = new byte[length];
        ulong micros = (ulong)(timestamp - DateTimeOffset.UnixEpoch).Ticks / 10;
        BinaryPrimitives.WriteUInt32LittleEndian(epb, 6);
        BinaryPrimitives.WriteUInt32LittleEndian(epb.AsSpan(4), (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(epb.AsSpan(8), 0); // interface 0
        BinaryPrimitives.WriteUInt32LittleEndian(epb.AsSpan(12), (uint)(micros >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(epb.AsSpan(16), (uint)micros);
        BinaryPrimitives.WriteUInt32LittleEndian(epb.AsSpan(20), (uint)frame.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(epb.AsSpan(24), (uint)frame.Length);
        frame.CopyTo(epb.AsSpan(28));
        BinaryPrimitives.WriteUInt32LittleEndian(epb.AsSpan(length - 4), (uint)length);
        _stream.Write(epb);
        Count++;
    }

    private static int Pad(int length) => (length + 3) & ~3;

    public void Dispose() => _stream.Flush();
}
