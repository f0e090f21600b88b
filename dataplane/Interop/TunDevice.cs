using System.Runtime.InteropServices;
using System.Text;
using Tmds.Linux;

namespace Rekindle.Dataplane.Interop;

/// <summary>
/// A TUN device (layer 3, no packet information header): the data plane reads the packets the kernel routes into it
/// and writes decrypted packets back. The fd is non-blocking; readers wait with poll.
/// </summary>
public sealed unsafe class TunDevice : IDisposable
{
    private const int TunSetIff = 0x400454ca; // _IOW('T', 202, int)
    private const short IffTun = 0x0001, IffNoPi = 0x1000;
    private int _fd;

    private TunDevice(int fd, string name)
    {
        _fd = fd;
        Name = name;
    }

    public string Name { get; }
    public int Fd => _fd;

    /// <summary>Creates (or attaches to) TUN device <paramref name="name"/>.</summary>
    public static TunDevice Open(string name)
    {
        if (Encoding.ASCII.GetByteCount(name) > 15)
            throw new ArgumentException($"interface name '{name}' is longer than 15 characters");
        byte[] path = "/dev/net/tun\0"u8.ToArray();
        int fd;
        fixed (byte* p = path)
            fd = LibC.open(p, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        if (fd < 0)
            throw new NativeException("open /dev/net/tun (is the tun module loaded?)", LibC.errno);
        // struct ifreq: char ifr_name[16]; short ifr_flags; (padded to 40 octets)
        byte* ifreq = stackalloc byte[40];
        new Span<byte>(ifreq, 40).Clear();
        Encoding.ASCII.GetBytes(name, new Span<byte>(ifreq, 16));
        *(short*)(ifreq + 16) = IffTun | IffNoPi;
        if (LibC.ioctl(fd, TunSetIff, ifreq) < 0)
        {
            int errno = LibC.errno;
            LibC.close(fd);
            throw new NativeException($"TUNSETIFF {name}", errno);
        }
        Native.SetNonBlocking(fd);
        return new TunDevice(fd, Marshal.PtrToStringUTF8((nint)ifreq) ?? name);
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
            LibC.close(fd);
    }
}
