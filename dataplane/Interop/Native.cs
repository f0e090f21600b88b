using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Rekindle.Dataplane.Interop;

/// <summary>
/// The Linux calls of the data plane, in one place: Tmds.LibC for the plain ones, LibraryImport for the batched
/// socket calls it lacks (recvmmsg, sendmmsg). Failures become <see cref="NativeException"/> naming the call and errno.
/// </summary>
internal static unsafe partial class Native
{
    public const int PollIn = 0x001;
    public const int EAgain = 11, EIntr = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (56 octets on x86_64 and arm64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>struct mmsghdr: a msghdr and the octets sent or received.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    /// <summary>struct sockaddr_in6, large enough for sockaddr_in as well (28 octets).</summary>
    [StructLayout(LayoutKind.Sequential, Size = 28)]
    public struct SockAddr
    {
        public ushort Family;
        public ushort Port; // network order
        public uint V4OrFlowInfo;
        public UInt128 V6;
        public uint ScopeId;

        public static SockAddr From(IPEndPoint endpoint)
        {
            var address = new SockAddr { Port = (ushort)IPAddress.HostToNetworkOrder((short)endpoint.Port) };
            if (endpoint.AddressFamily == AddressFamily.InterNetwork)
            {
                address.Family = 2; // AF_INET
                Span<byte> bytes = stackalloc byte[4];
                endpoint.Address.TryWriteBytes(bytes, out _);
                address.V4OrFlowInfo = MemoryMarshal.Read<uint>(bytes);
            }
            else
            {
                address.Family = 10; // AF_INET6
                Span<byte> bytes = stackalloc byte[16];
                endpoint.Address.TryWriteBytes(bytes, out _);
                address.V6 = MemoryMarshal.Read<UInt128>(bytes);
            }
            return address;
        }

        public readonly uint Length => Family == 2 ? 16u : 28u;

        public readonly IPEndPoint ToEndPoint()
        {
            int port = (ushort)IPAddress.NetworkToHostOrder((short)Port);
            if (Family == 2)
                return new IPEndPoint(new IPAddress(V4OrFlowInfo), port);
            var v6 = V6;
            return new IPEndPoint(new IPAddress(new ReadOnlySpan<byte>(&v6, 16)), port);
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    private static partial int RecvMMsg(int fd, MMsgHdr* messages, uint count, int flags, void* timeout);

    [LibraryImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    private static partial int SendMMsg(int fd, MMsgHdr* messages, uint count, int flags);

    /// <summary>Receives up to <paramref name="count"/> datagrams without blocking; 0 when none are waiting.</summary>
    public static int ReceiveBatch(int fd, MMsgHdr* messages, int count)
    {
        int received = RecvMMsg(fd, messages, (uint)count, 0x40 /* MSG_DONTWAIT */, null);
        if (received >= 0)
            return received;
        int errno = Marshal.GetLastPInvokeError();
        return errno is EAgain or EIntr ? 0 : throw new NativeException("recvmmsg", errno);
    }

    /// <summary>Sends a batch; returns how many went (the rest are dropped by the caller, as a full queue would).</summary>
    public static int SendBatch(int fd, MMsgHdr* messages, int count)
    {
        int sent = SendMMsg(fd, messages, (uint)count, 0);
        if (sent >= 0)
            return sent;
        int errno = Marshal.GetLastPInvokeError();
        return errno is EAgain or EIntr or 105 /* ENOBUFS */ or 111 /* ECONNREFUSED */ or 113 /* EHOSTUNREACH */ ? 0
            : throw new NativeException("sendmmsg", errno);
    }

    /// <summary>Waits until <paramref name="fd"/> is readable or the timeout passes.</summary>
    public static bool WaitReadable(int fd, int timeoutMs)
    {
        var poll = new PollFd { Fd = fd, Events = PollIn };
        int ready = LibC.poll((pollfd*)&poll, 1, timeoutMs);
        if (ready < 0 && LibC.errno != EIntr)
            throw new NativeException("poll", LibC.errno);
        return ready > 0;
    }

    /// <summary>read(2) that answers -1 for "nothing now" (EAGAIN).</summary>
    public static int Read(int fd, Span<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            long n = LibC.read(fd, p, (size_t)buffer.Length);
            if (n >= 0)
                return (int)n;
            int errno = LibC.errno;
            return errno is EAgain or EIntr ? -1 : throw new NativeException("read", errno);
        }
    }

    public static void Write(int fd, ReadOnlySpan<byte> buffer)
    {
        fixed (byte* p = buffer)
        {
            long n = LibC.write(fd, p, (size_t)buffer.Length);
            if (n < 0 && LibC.errno is not (EAgain or EIntr or 105))
                throw new NativeException("write", LibC.errno);
        }
    }

    public static void SetNonBlocking(int fd)
    {
        int flags = LibC.fcntl(fd, LibC.F_GETFL);
        if (flags < 0 || LibC.fcntl(fd, LibC.F_SETFL, flags | LibC.O_NONBLOCK) < 0)
            throw new NativeException("fcntl", LibC.errno);
    }

    /// <summary>A raw IP socket for ESP (protocol 50), bound to the local tunnel address.</summary>
    public static int OpenRawEsp(IPAddress local)
    {
        int family = local.AddressFamily == AddressFamily.InterNetwork ? LibC.AF_INET : LibC.AF_INET6;
        int fd = LibC.socket(family, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC, LibC.IPPROTO_ESP);
        if (fd < 0)
            throw new NativeException("socket(SOCK_RAW, IPPROTO_ESP)", LibC.errno);
        var address = SockAddr.From(new IPEndPoint(local, 0));
        if (LibC.bind(fd, (sockaddr*)&address, address.Length) < 0)
        {
            int errno = LibC.errno;
            LibC.close(fd);
            throw new NativeException($"bind raw ESP socket to {local}", errno);
        }
        SetNonBlocking(fd);
        SetBuffers(fd, SocketBufferBytes);
        return fd;
    }

    public const int SocketBufferBytes = 8 << 20;

    public static void Close(int fd) => LibC.close(fd);

    /// <summary>Enlarges a socket's buffers past the sysctl limits (SO_RCVBUFFORCE/SO_SNDBUFFORCE need CAP_NET_ADMIN).</summary>
    public static void SetBuffers(int fd, int bytes)
    {
        int size = bytes;
        if (LibC.setsockopt(fd, LibC.SOL_SOCKET, 33 /* SO_RCVBUFFORCE */, &size, sizeof(int)) < 0)
            LibC.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_RCVBUF, &size, sizeof(int));
        if (LibC.setsockopt(fd, LibC.SOL_SOCKET, 32 /* SO_SNDBUFFORCE */, &size, sizeof(int)) < 0)
            LibC.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_SNDBUF, &size, sizeof(int));
    }

    public static string Describe(int errno)
    {
        byte* buffer = stackalloc byte[256];
        // The GNU strerror_r returns a pointer; Tmds binds the XSI one, which fills the buffer.
        LibC.strerror_r(errno, buffer, 256);
        return Marshal.PtrToStringUTF8((nint)buffer) ?? $"errno {errno}";
    }
}

/// <summary>A Linux call failed; the message names the call and the error.</summary>
public sealed class NativeException(string call, int errno) : Exception($"{call} failed: {Native.Describe(errno)} (errno {errno})")
{
    public int Errno { get; } = errno;
}
