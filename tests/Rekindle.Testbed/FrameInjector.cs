using SharpPcap;
using SharpPcap.LibPcap;

namespace Rekindle.Testbed;

/// <summary>
/// Sends the frames of a capture file again on an interface, optionally with one octet flipped: how the tests
/// replay and tamper with real ESP packets. Run inside the namespace that owns the interface.
/// </summary>
public static class FrameInjector
{
    public static int Run(string[] args)
    {
        string? iface = null, pcap = null;
        int times = 1, flip = -1;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--iface": iface = args[i + 1]; break;
                case "--pcap": pcap = args[i + 1]; break;
                case "--times": times = int.Parse(args[i + 1]); break;
                case "--flip": flip = int.Parse(args[i + 1]); break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }
        if (iface == null || pcap == null)
        {
            Console.Error.WriteLine("resend needs --iface and --pcap");
            return 2;
        }
        var frames = new List<byte[]>();
        using (var reader = new CaptureFileReaderDevice(pcap))
        {
            reader.Open();
            while (reader.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
                frames.Add(capture.GetPacket().Data);
        }
        var device = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == iface)
            ?? throw new InvalidOperationException($"no interface {iface} here");
        device.Open();
        try
        {
            int sent = 0;
            for (int t = 0; t < times; t++)
            {
                foreach (var frame in frames)
                {
                    var copy = frame.ToArray();
                    if (flip >= 0 && flip < copy.Length)
                        copy[flip] ^= 0x7F;
                    device.SendPacket(copy);
                    sent++;
                }
            }
            Console.WriteLine($"sent {sent} frame(s) on {iface}");
        }
        finally
        {
            device.Close();
        }
        return 0;
    }
}
