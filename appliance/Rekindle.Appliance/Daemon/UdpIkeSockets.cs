using System.Net;
using System.Net.Sockets;
using Rekindle.Control.Engine;

namespace Rekindle.Appliance.Daemon;

/// <summary>
/// The IKE sockets: UDP 500 and 4500 on each listen address. On 4500 the first four octets decide (RFC 3948 §2.2):
/// zero is the non-ESP marker and IKE follows, a single 0xFF is a NAT-T keepalive, anything else is ESP for the data plane.
/// </summary>
public sealed class UdpIkeSockets : IIkeNetwork, IDisposable
{
    private readonly List<(IPAddress Address, int Port, Socket Socket)> _sockets = [];
    private readonly int _natTPort;
    private readonly ILog _log;
    private long _espDropped;
    private bool _natTTaken;

    public UdpIkeSockets(IEnumerable<IPAddress> addresses, int ikePort, int natTPort, ILog log)
    {
        _natTPort = natTPort;
        _log = log;
        foreach (var address in addresses.Distinct())
        {
            foreach (var port in new[] { ikePort, natTPort })
            {
                var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                try
                {
                    if (address.AddressFamily == AddressFamily.InterNetworkV6)
                        socket.DualMode = false;
                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                    socket.SetSocketOption(address.AddressFamily == AddressFamily.InterNetwork ? SocketOptionLevel.IP : SocketOptionLevel.IPv6,
                        SocketOptionName.PacketInformation, true);
                    socket.Bind(new IPEndPoint(address, port));
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    Dispose();
                    throw new InvalidOperationException($"cannot bind UDP {address}:{port}: {e.Message}" +
                        (e.SocketErrorCode == SocketError.AddressAlreadyInUse ? " (is another IKE daemon running?)" : ""), e);
                }
                _sockets.Add((address, port, socket));
            }
        }
    }

    /// <summary>ESP packets that arrived on the NAT-T port while no data plane takes them.</summary>
    public long EspDropped => Interlocked.Read(ref _espDropped);

    /// <summary>Receives until cancelled, handing each IKE message to <paramref name="deliver"/>.</summary>
    public Task RunAsync(Action<ReadOnlyMemory<byte>, IPEndPoint, IPEndPoint> deliver, CancellationToken cancellation) =>
        Task.WhenAll(_sockets.Where(s => !(_natTTaken && s.Port == _natTPort)).Select(s => ReceiveLoop(s.Socket, s.Port, deliver, cancellation)));

    private async Task ReceiveLoop(Socket socket, int port, Action<ReadOnlyMemory<byte>, IPEndPoint, IPEndPoint> deliver, CancellationToken cancellation)
    {
        var buffer = new byte[65536];
        EndPoint any = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0);
        while (!cancellation.IsCancellationRequested)
        {
            SocketReceiveMessageFromResult result;
            try
            {
                result = await socket.ReceiveMessageFromAsync(buffer, SocketFlags.None, any, cancellation);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException e)
            {
                _log.Debug("net", $"receive on port {port}: {e.Message}");
                continue;
            }
            var remote = (IPEndPoint)result.RemoteEndPoint;
            var local = new IPEndPoint(result.PacketInformation.Address, port);
            var data = buffer.AsMemory(0, result.ReceivedBytes);
            if (port == _natTPort)
            {
                if (data.Length == 1 && data.Span[0] == 0xFF)
                    continue; // NAT-T keepalive
                if (data.Length < 4 || data.Span[..4].IndexOfAnyExcept((byte)0) >= 0)
                {
                    Interlocked.Increment(ref _espDropped);
                    continue; // ESP: no data plane in this configuration
                }
                data = data[4..];
            }
            try
            {
                deliver(data, local, remote);
            }
            catch (Exception e)
            {
                // Nothing a datagram carries may take the receive loop down.
                _log.Error("net", $"processing a datagram from {remote} failed: {e}");
            }
        }
    }

    public void Send(IPEndPoint local, IPEndPoint remote, byte[] message)
    {
        var socket = SocketFor(local, remote);
        if (socket == null)
        {
            _log.Error("net", $"no socket for {local} to send to {remote}");
            return;
        }
        try
        {
            if (local.Port == _natTPort)
            {
                var marked = new byte[message.Length + 4];
                message.CopyTo(marked, 4);
                socket.SendTo(marked, remote);
            }
            else
            {
                socket.SendTo(message, remote);
            }
        }
        catch (SocketException e)
        {
            _log.Warning("net", $"sending {message.Length} octets to {remote} failed: {e.Message}");
        }
    }

    public void SendKeepalive(IPEndPoint local, IPEndPoint remote)
    {
        var socket = SocketFor(local, remote);
        try
        {
            socket?.SendTo([0xFF], remote);
        }
        catch (SocketException e)
        {
            _log.Debug("net", $"keepalive to {remote} failed: {e.Message}");
        }
    }

    /// <summary>Every IKE socket, for the kernel back-end's bypass policies.</summary>
    public IEnumerable<Socket> Sockets => _sockets.Select(s => s.Socket);

    /// <summary>Makes the kernel decapsulate ESP-in-UDP on the NAT-T sockets (UDP_ENCAP_ESPINUDP); IKE still arrives here.</summary>
    public unsafe void EnableKernelEspInUdp()
    {
        foreach (var (_, port, socket) in _sockets.Where(s => s.Port == _natTPort))
        {
            int type = 2; // UDP_ENCAP_ESPINUDP
            if (Tmds.Linux.LibC.setsockopt((int)socket.Handle, 17 /* SOL_UDP */, 100 /* UDP_ENCAP */, &type, sizeof(int)) < 0)
                throw new InvalidOperationException($"UDP_ENCAP on port {port} failed: errno {Tmds.Linux.LibC.errno}");
        }
    }

    /// <summary>
    /// Hands the NAT-T sockets to a data plane that receives on them itself (ESP and IKE alike); this object keeps
    /// sending IKE on them but no longer reads them.
    /// </summary>
    public IReadOnlyList<(IPEndPoint Local, Socket Socket)> TakeNatTReceive()
    {
        _natTTaken = true;
        return _sockets.Where(s => s.Port == _natTPort).Select(s => (new IPEndPoint(s.Address, s.Port), s.Socket)).ToList();
    }

    private Socket? SocketFor(IPEndPoint local, IPEndPoint remote) =>
        _sockets.FirstOrDefault(s => s.Port == local.Port && s.Address.Equals(local.Address)).Socket
        ?? _sockets.FirstOrDefault(s => s.Port == local.Port && s.Address.AddressFamily == remote.AddressFamily
            && (s.Address.Equals(IPAddress.Any) || s.Address.Equals(IPAddress.IPv6Any))).Socket;

    public IPAddress LocalAddressFor(IPAddress remote)
    {
        using var probe = new Socket(remote.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        probe.Connect(new IPEndPoint(remote, 9));
        return ((IPEndPoint)probe.LocalEndPoint!).Address;
    }

    public void Dispose()
    {
        foreach (var (_, _, socket) in _sockets)
            socket.Dispose();
        _sockets.Clear();
    }
}
