using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Tmds.Linux;

namespace Rekindle.Xfrm.Interop;

/// <summary>
/// A NETLINK_XFRM socket: requests with ACK and extended ACK, a reader that turns NLMSG_ERROR and the kernel's
/// message into <see cref="XfrmException"/>, and multicast subscription for the monitor. Thread-safe for requests.
/// </summary>
internal sealed unsafe class NetlinkSocket : SafeHandleZeroOrMinusOneIsInvalid
{
    private readonly Lock _lock = new();
    private uint _sequence;

    private NetlinkSocket() : base(ownsHandle: true) { }

    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;

    private int Fd => (int)handle;

    /// <summary>Opens the socket; <paramref name="groups"/> are multicast groups to join (monitor).</summary>
    public static NetlinkSocket Open(uint groups = 0)
    {
        int fd = LibC.socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, Uapi.NETLINK_XFRM);
        if (fd < 0)
            throw new XfrmException("socket(NETLINK_XFRM)", LibC.errno, null, "is the xfrm_user module loaded? (CONFIG_XFRM_USER)");
        var socket = new NetlinkSocket();
        socket.SetHandle(fd);
        int one = 1;
        LibC.setsockopt(fd, Uapi.SOL_NETLINK, Uapi.NETLINK_EXT_ACK, &one, sizeof(int));
        LibC.setsockopt(fd, Uapi.SOL_NETLINK, Uapi.NETLINK_CAP_ACK, &one, sizeof(int));
        // struct sockaddr_nl { sa_family_t; unsigned short pad; __u32 pid; __u32 groups; }
        byte* address = stackalloc byte[12];
        new Span<byte>(address, 12).Clear();
        *(ushort*)address = (ushort)LibC.AF_NETLINK;
        *(uint*)(address + 8) = groups;
        if (LibC.bind(fd, (sockaddr*)address, 12) < 0)
        {
            int errno = LibC.errno;
            socket.Dispose();
            throw new XfrmException("bind(NETLINK_XFRM)", errno, null, groups != 0 ? "joining XFRM multicast groups needs CAP_NET_ADMIN" : null);
        }
        int size = 4 << 20;
        LibC.setsockopt(fd, LibC.SOL_SOCKET, 33 /* SO_RCVBUFFORCE */, &size, sizeof(int));
        if (groups == 0)
        {
            // A request socket never waits forever: no answer within 5 s is an error.
            long* timeout = stackalloc long[2] { 5, 0 };
            LibC.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_RCVTIMEO, timeout, 16);
        }
        return socket;
    }

    /// <summary>Sends one request and waits for its ACK (or the answer, collected by <paramref name="onReply"/>).</summary>
    public void Request(ReadOnlySpan<byte> message, string operation, ReplyHandler? onReply = null)
    {
        lock (_lock)
        {
            uint sequence = ++_sequence;
            var copy = ArrayPool<byte>.Shared.Rent(message.Length);
            var receive = ArrayPool<byte>.Shared.Rent(16384);
            try
            {
                message.CopyTo(copy);
                BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(8), sequence);
                fixed (byte* p = copy)
                {
                    if ((long)LibC.send(Fd, p, (size_t)message.Length, 0) < 0)
                        throw new XfrmException(operation, LibC.errno, null, null);
                }
                while (true)
                {
                    int length;
                    fixed (byte* p = receive)
                        length = (int)(long)LibC.recv(Fd, p, (size_t)receive.Length, 0);
                    if (length < 0)
                    {
                        int errno = LibC.errno;
                        if (errno == 4)
                            continue;
                        throw new XfrmException(operation, errno, null, errno == 11 ? "the kernel did not answer within 5 s" : null);
                    }
                    if (Dispatch(receive.AsSpan(0, length), sequence, operation, onReply))
                        return;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(copy);
                ArrayPool<byte>.Shared.Return(receive);
            }
        }
    }

    public delegate void ReplyHandler(ushort type, ReadOnlySpan<byte> payload);

    /// <summary>Walks the messages in one datagram; true when the request is complete.</summary>
    private static bool Dispatch(ReadOnlySpan<byte> data, uint sequence, string operation, ReplyHandler? onReply)
    {
        while (data.Length >= 16)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(data);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
            ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]);
            uint seq = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
            if (length < 16 || length > data.Length)
                throw new XfrmException(operation, 0, "malformed netlink reply", null);
            var payload = data[16..(int)length];
            if (seq == sequence)
            {
                if (type == Uapi.NLMSG_ERROR)
                {
                    int error = BinaryPrimitives.ReadInt32LittleEndian(payload);
                    if (error == 0)
                        return true;
                    throw new XfrmException(operation, -error, ExtendedAck(payload, flags), null);
                }
                if (type == Uapi.NLMSG_DONE)
                    return true;
                onReply?.Invoke(type, payload);
            }
            data = data[Align((int)length)..];
        }
        return false;
    }

    /// <summary>The kernel's extended-ack text (NLMSGERR_ATTR_MSG), after the error and the capped header.</summary>
    private static string? ExtendedAck(ReadOnlySpan<byte> payload, ushort flags)
    {
        if ((flags & Uapi.NLM_F_ACK_TLVS) == 0 || payload.Length < 20)
            return null;
        var attributes = payload[20..];
        while (attributes.Length >= 4)
        {
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
            ushort type = BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]);
            if (length < 4 || length > attributes.Length)
                break;
            if (type == Uapi.NLMSGERR_ATTR_MSG)
                return System.Text.Encoding.UTF8.GetString(attributes[4..length]).TrimEnd('\0');
            attributes = attributes[Math.Min(Align(length), attributes.Length)..];
        }
        return null;
    }

    /// <summary>Blocks for the next multicast datagram (monitor sockets); returns its length, 0 on timeout.</summary>
    public int Receive(Span<byte> buffer, int timeoutMs)
    {
        var poll = new long[1];
        fixed (long* p = poll)
        {
            *(int*)p = Fd;
            *((short*)p + 2) = 1; // POLLIN
            if (LibC.poll((pollfd*)p, 1, timeoutMs) <= 0)
                return 0;
        }
        fixed (byte* b = buffer)
        {
            long n = LibC.recv(Fd, b, (size_t)buffer.Length, 0);
            return n < 0 ? (LibC.errno is 4 or 11 or 105 ? 0 : throw new XfrmException("recv(monitor)", LibC.errno, null, null)) : (int)n;
        }
    }

    public static int Align(int length) => (length + 3) & ~3;
}

/// <summary>An XFRM operation the kernel refused: the operation, errno, the kernel's own message, and what is likely missing.</summary>
public sealed class XfrmException(string operation, int errno, string? kernelMessage, string? hint)
    : Exception($"{operation} failed: {Describe(errno)}{(kernelMessage == null ? "" : $" ({kernelMessage})")}{(hint == null ? "" : $"; {hint}")}")
{
    public int Errno { get; } = errno;
    public string? KernelMessage { get; } = kernelMessage;

    private static unsafe string Describe(int errno)
    {
        if (errno == 0)
            return "error";
        byte* buffer = stackalloc byte[256];
        LibC.strerror_r(errno, buffer, 256);
        return $"{Marshal.PtrToStringUTF8((nint)buffer)} (errno {errno})";
    }
}
