using System.Net;
using System.Net.NetworkInformation;
using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace Rekindle.Dataplane.Capture;

/// <summary>
/// The capture path: libpcap (through SharpPcap) on the interface that carries a peer's traffic, filtered to its
/// IKE and ESP packets; PacketDotNet tells IKE from ESP. It observes only: it never sits on the forwarding path.
/// </summary>
public static class TrafficCapture
{
    public sealed record Summary(string Interface, int Packets, int Ike, int Esp, int Keepalives);

    /// <summary>The interface that holds <paramref name="local"/>.</summary>
    public static string InterfaceFor(IPAddress local) =>
        NetworkInterface.GetAllNetworkInterfaces()
            .FirstOrDefault(i => i.GetIPProperties().UnicastAddresses.Any(a => a.Address.Equals(local)))?.Name
        ?? throw new InvalidOperationException($"no interface holds {local}");

    public static string Filter(IPAddress peer, int ikePort, int natTPort) =>
        $"host {peer} and (udp port {ikePort} or udp port {natTPort} or ip proto 50)";

    /// <summary>Captures the peer's IKE and ESP traffic for <paramref name="duration"/> into a pcapng file.</summary>
    public static Summary Run(IPAddress local, IPAddress peer, int ikePort, int natTPort, string path, TimeSpan duration,
        Action<string> started, CancellationToken cancellation)
    {
        var name = InterfaceFor(local);
        using var device = LibPcapLiveDeviceList.New().FirstOrDefault(d => d.Name == name)
            ?? throw new InvalidOperationException($"libpcap does not see interface {name}");
        device.Open(new DeviceConfiguration { Mode = DeviceModes.None, ReadTimeout = 100, Snaplen = 65535 });
        device.Filter = Filter(peer, ikePort, natTPort);
        started(name);
        int ike = 0, esp = 0, keepalives = 0;
        using var file = File.Create(path);
        using var writer = new PcapNgWriter(file, (ushort)device.LinkType, name);
        var deadline = DateTime.UtcNow + duration;
        while (DateTime.UtcNow < deadline && !cancellation.IsCancellationRequested)
        {
            if (device.GetNextPacket(out PacketCapture capture) != GetPacketStatus.PacketRead)
                continue;
            var raw = capture.GetPacket();
            writer.Write(new DateTimeOffset(raw.Timeval.Date), raw.Data);
            switch (Classify(raw, natTPort))
            {
                case Kind.Ike: ike++; break;
                case Kind.Esp: esp++; break;
                case Kind.Keepalive: keepalives++; break;
            }
        }
        device.Close();
        return new Summary(name, writer.Count, ike, esp, keepalives);
    }

    private enum Kind
    {
        Other,
        Ike,
        Esp,
        Keepalive,
    }

    private static Kind Classify(RawCapture raw, int natTPort)
    {
        var ip = Packet.ParsePacket(raw.LinkLayerType, raw.Data).Extract<IPPacket>();
        if (ip == null)
            return Kind.Other;
        if (ip.Protocol == ProtocolType.IPSecEncapsulatingSecurityPayload)
            return Kind.Esp;
        if (ip.PayloadPacket is not UdpPacket udp)
            return Kind.Other;
        var data = udp.PayloadData ?? [];
        if (udp.DestinationPort != natTPort && udp.SourcePort != natTPort)
            return Kind.Ike;
        if (data.Length == 1 && data[0] == 0xFF)
            return Kind.Keepalive;
        return data.Length >= 4 && data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 0 ? Kind.Ike : Kind.Esp;
    }
}
