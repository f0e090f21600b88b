using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Rekindle.Xfrm.Interop;

/// <summary>
/// Builds one netlink message in a pooled buffer: the header, a fixed struct, then 4-octet aligned attributes.
/// The total length is patched in when the message is taken.
/// </summary>
internal ref struct NetlinkWriter
{
    private byte[] _buffer;
    private int _length;

    public NetlinkWriter(ushort type, ushort flags)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(1024);
        _buffer.AsSpan(0, 16).Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(6), flags);
        _length = 16;
    }

    public void Struct<T>(in T value) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        var target = Reserve(NetlinkSocket.Align(size));
        target.Clear();
        MemoryMarshal.Write(target, in value);
    }

    public void Attribute<T>(ushort type, in T value, ReadOnlySpan<byte> tail = default) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        int length = 4 + size + tail.Length;
        var target = Reserve(NetlinkSocket.Align(length));
        target.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(target, (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(target[2..], type);
        MemoryMarshal.Write(target[4..], in value);
        tail.CopyTo(target[(4 + size)..]);
    }

    private Span<byte> Reserve(int length)
    {
        if (_length + length > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent((_length + length) * 2);
            _buffer.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        var span = _buffer.AsSpan(_length, length);
        _length += length;
        return span;
    }

    /// <summary>The finished message (valid until <see cref="Dispose"/>).</summary>
    public ReadOnlySpan<byte> Message
    {
        get
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)_length);
            return _buffer.AsSpan(0, _length);
        }
    }

    public void Dispose()
    {
        if (_buffer != null)
            ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null!;
    }
}
