using System.Runtime.InteropServices;
using Rekindle.Dataplane.Interop;

namespace Rekindle.Dataplane;

/// <summary>
/// One forwarding thread's batch: packet buffers with headroom for the ESP header and IV, and the mmsghdr, iovec and
/// sockaddr arrays that recvmmsg/sendmmsg take, all allocated once in native memory (no allocation per packet).
/// </summary>
internal sealed unsafe class PacketBuffers : IDisposable
{
    /// <summary>Room in front of a packet: the largest ESP header plus IV (8 + 16) and the IPv4 header of raw ESP.</summary>
    public const int Headroom = 64;
    public const int LargeSlot = 65536 + Headroom + 64;

    private readonly byte* _memory;
    public readonly Native.MMsgHdr* Messages;
    public readonly Native.IoVec* Vectors;
    public readonly Native.SockAddr* Addresses;

    /// <param name="withSlots">False for a set of send descriptors that point into another batch's slots.</param>
    /// <param name="slotSize">Octets per slot: large for receive batches, MTU-sized for segments to send.</param>
    public PacketBuffers(int count, bool withSlots = true, int slotSize = LargeSlot)
    {
        Count = count;
        SlotSize = slotSize;
        _memory = withSlots ? (byte*)NativeMemory.AlignedAlloc((nuint)((long)count * slotSize), 64) : null;
        Messages = (Native.MMsgHdr*)NativeMemory.AllocZeroed((nuint)(count * sizeof(Native.MMsgHdr)));
        Vectors = (Native.IoVec*)NativeMemory.AllocZeroed((nuint)(count * sizeof(Native.IoVec)));
        Addresses = (Native.SockAddr*)NativeMemory.AllocZeroed((nuint)(count * sizeof(Native.SockAddr)));
        for (int i = 0; i < count; i++)
        {
            Messages[i].Header.Iov = &Vectors[i];
            Messages[i].Header.IovLength = 1;
            Messages[i].Header.Name = &Addresses[i];
        }
    }

    public int Count { get; }
    public int SlotSize { get; }

    public Span<byte> Slot(int index) => new(_memory + (long)index * SlotSize, SlotSize);

    public byte* SlotPointer(int index) => _memory + (long)index * SlotSize;

    /// <summary>Prepares every slot to receive a datagram at <see cref="Headroom"/>.</summary>
    public void ArmForReceive()
    {
        for (int i = 0; i < Count; i++)
        {
            Vectors[i].Base = SlotPointer(i) + Headroom;
            Vectors[i].Length = (nuint)(SlotSize - Headroom);
            Messages[i].Header.NameLength = (uint)sizeof(Native.SockAddr);
            Messages[i].Header.Flags = 0;
            Messages[i].Length = 0;
        }
    }

    /// <summary>Points message <paramref name="index"/> at a packet for sending.</summary>
    public void ArmForSend(int index, byte* packet, int length, in Native.SockAddr destination)
    {
        Vectors[index].Base = packet;
        Vectors[index].Length = (nuint)length;
        Addresses[index] = destination;
        Messages[index].Header.NameLength = destination.Length;
    }

    public void Dispose()
    {
        if (_memory != null)
            NativeMemory.AlignedFree(_memory);
        NativeMemory.Free(Messages);
        NativeMemory.Free(Vectors);
        NativeMemory.Free(Addresses);
    }
}
