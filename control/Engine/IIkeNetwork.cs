using System.Net;

namespace Rekindle.Control.Engine;

/// <summary>How the engine sends IKE messages. The daemon's sockets add the non-ESP marker on the NAT-T port.</summary>
public interface IIkeNetwork
{
    void Send(IPEndPoint local, IPEndPoint remote, byte[] message);

    /// <summary>The local address the system would use to reach <paramref name="remote"/>.</summary>
    IPAddress LocalAddressFor(IPAddress remote);
}
