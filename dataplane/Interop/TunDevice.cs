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
    private const short IffTun = 0x0001, IffNoPi = 0x1000, IffVnetHdr = 0x4000;
    private const int TunSetOffload = 0x400454d0; // _IOW('T', 208, unsigned int)
    private const uint TunFCsum = 1, TunFTso4 = 2, TunFTso6 = 4, TunFTsoEcn = 8;
    private int _fd;

    private TunDevice(int fd, string name, bool offload)
    {
        _fd = fd;
        Name = name;
        Offload = offload;
    }

    public string Name { get; }

    /// <summary>Packets carry a virtio_net_hdr and may be large TCP segments (TSO in, GSO out).</summary>
    public bool Offload { get; }
    public int Fd => _fd;

    /// <summary>
    /// Creates (or attaches to) TUN device <paramref name="name"/>; with <paramref name="offload"/>, asks for
    /// checksum and TCP segmentation offload, falling back to plain packets where the kernel refuses.
    /// </summary>
    public static TunDevice Open(string name, bool offload = true)
    {
        if (offload)
        {
            var device = TryOpen(name, true);
            if (device != null)
                return device;
        }
        return TryOpen(name, false)!;
    }

    private static TunDevice? TryOpen(string name, bool offload)
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
        *(short*)(ifreq + 16) = (short)(IffTun | IffNoPi | (offload ? IffVnetHdr : 0));
        if (LibC.ioctl(fd, TunSetIff, ifreq) < 0)
        {
            int errno = LibC.errno;
            LibC.close(fd);
            throw new NativeException($"TUNSETIFF {name}", errno);
        }
        if (offload && LibC.ioctl(fd, TunSetOffload, (int)(TunFCsum | TunFTso4 | TunFTso6 | TunFTsoEcn)) < 0)
        {
            LibC.close(fd);
            return null;
        }
        Native.SetNonBlocking(fd);
        return new TunDevice(fd, Marshal.PtrToStringUTF8((nint)ifreq) ?? name, offload);
    }

    public void Dispose()
    {
        int fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
            LibC.close(fd);
    }
}
