using System.Net;

namespace Rekindle.Control.Engine;

/// <summary>How the engine sends IKE messages. The daemon's sockets add the non-ESP marker on the NAT-T port.</summary>
public interface IIkeNetwork
{
    void Send(IPEndPoint local, IPEndPoint remote, byte[] message);

    /// <summary>A NAT-T keepalive: one 0xFF octet on the NAT-T port, without the non-ESP marker (RFC 3948 §2.3).</summary>
    void SendKeepalive(IPEndPoint local, IPEndPoint remote);

    /// <summary>The local address the system would use to reach <paramref name="remote"/>.</summary>
    IPAddress LocalAddressFor(IPAddress remote);
}
