using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Rekindle.Control.Encoding;
using Rekindle.Control.Engine;
using Rekindle.Control.Kernel;
using Rekindle.Dataplane.Esp;
using Rekindle.Dataplane.Interop;

namespace Rekindle.Dataplane;

/// <summary>
/// The kernel-bypass SA back-end: ESP in user space over a TUN device (RFC 4303 tunnel mode, RFC 3948 ESP-in-UDP
/// on the IKE NAT-T socket, raw ESP otherwise). Implements <see cref="ISaBackend"/> for the control plane.
/// </summary>
public sealed class UserspaceBackend : ISaBackend
{
    private readonly SaDatabase _database = new();
    private readonly HashSet<uint> _reserved = [];
    private readonly ILog _log;
    private readonly string _deviceName;
    private readonly int _mtu;
    private readonly Dictionary<IPAddress, int> _raw = [];
    private TunDevice? _tun;
    private RouteTable? _routes;
    private Forwarder? _forwarder;
    private Timer? _lifetimeTimer;

    public UserspaceBackend(string deviceName, int mtu, ILog log)
    {
        _deviceName = deviceName;
        _mtu = mtu;
        _log = log;
    }

    public string Name => "userspace";
    public string DeviceName => _tun?.Name ?? _deviceName;
    public Forwarder? Forwarder => _forwarder;

    public event Action<SaExpiry>? Expired;

    public event Action<SaAcquire>? Acquired { add { } remove { } }

    /// <summary>
    /// Creates the TUN device and the raw ESP sockets and starts forwarding. The NAT-T sockets are the IKE sockets
    /// on port 4500: the data plane receives on them and hands IKE messages to <paramref name="ike"/>.
    /// </summary>
    public void Start(IEnumerable<(IPEndPoint Local, Socket Socket)> natT, Action<byte[], IPEndPoint, IPEndPoint> ike)
    {
        try
        {
            _tun = TunDevice.Open(_deviceName);
            _routes = new RouteTable(_tun.Name);
            _routes.SetUp(_mtu);
        }
        catch (Exception e) when (e is NativeException or SaBackendException)
        {
            throw new InvalidOperationException($"userspace data plane: cannot set up TUN device {_deviceName}: {e.Message}", e);
        }
        var natTSockets = natT.Select(s => new Forwarder.NatTSocket(s.Local, (int)s.Socket.Handle)).ToList();
        foreach (var socket in natTSockets)
            Native.SetBuffers(socket.Fd, Native.SocketBufferBytes);
        foreach (var address in natTSockets.Select(s => s.Local.Address).Where(a => !a.Equals(IPAddress.Any) && !a.Equals(IPAddress.IPv6Any)).Distinct())
        {
            try
            {
                _raw[address] = Native.OpenRawEsp(address);
            }
            catch (NativeException e)
            {
                _log.Warning("dataplane", $"no raw ESP on {address} ({e.Message}); only UDP-encapsulated ESP will flow");
            }
        }
        _forwarder = new Forwarder(_tun, _database, natTSockets, _raw, ike, RaiseLifetime, _log);
        _forwarder.Start();
        _lifetimeTimer = new Timer(_ => CheckTimeLifetimes(), null, 1000, 1000);
        _log.Info("dataplane", $"userspace ESP on {_tun.Name} (mtu {_mtu}), ESP-in-UDP on {string.Join(", ", natTSockets.Select(s => s.Local))}" +
            (_raw.Count > 0 ? $", raw ESP on {string.Join(", ", _raw.Keys)}" : ""));
    }

    public uint AllocateSpi(IPAddress source, IPAddress destination, ProtocolId protocol)
    {
        lock (_reserved)
        {
            while (true)
            {
                uint spi = BitConverter.ToUInt32(RandomNumberGenerator.GetBytes(4));
                if (spi >= 256 && !_database.ContainsSpi(spi) && _reserved.Add(spi))
                    return spi;
            }
        }
    }

    public void AddSa(SaParameters sa)
    {
        if (sa.Id.Protocol != ProtocolId.Esp)
            throw new SaBackendException($"the userspace data plane carries ESP only, not {sa.Id.Protocol}");
        UserspaceSa entry;
        try
        {
            entry = sa.Direction == SaDirection.Inbound ? new InboundSa(sa, Environment.TickCount64) : new OutboundSa(sa, Environment.TickCount64);
        }
        catch (NotSupportedException e)
        {
            throw new SaBackendException(e.Message);
        }
        _database.Add(entry);
        lock (_reserved)
            _reserved.Remove(sa.Id.Spi);
    }

    public void UpdateSa(SaId id, IPEndPoint newSource, IPEndPoint newDestination)
    {
        var old = _database.Remove(id) ?? throw new SaBackendException($"SA {id} not found", 2);
        var parameters = old.Parameters with { Source = newSource, Destination = newDestination };
        _database.Add(old is InboundSa ? new InboundSa(parameters, old.InstalledTicks) : new OutboundSa(parameters, old.InstalledTicks));
        old.Dispose();
    }

    public void DeleteSa(SaId id)
    {
        lock (_reserved)
            _reserved.Remove(id.Spi);
        _database.Remove(id)?.Dispose();
    }

    public void AddPolicy(PolicyParameters policy)
    {
        if (policy.Direction != PolicyDirection.Out)
            return; // inbound packets are checked against their SA's selectors
        _database.AddRoute(policy);
        _routes?.Add(policy.Destination, [policy.Source]);
    }

    public void DeletePolicy(PolicyParameters policy)
    {
        if (policy.Direction != PolicyDirection.Out || !_database.RemoveRoute(policy))
            return;
        if (!_database.HasRouteTo(policy.Destination))
            _routes?.Remove(policy.Destination);
    }

    public SaCounters? QuerySa(SaId id)
    {
        var sa = _database.Find(id);
        if (sa == null)
            return null;
        long last = sa.LastUsedTicks;
        DateTimeOffset? lastUsed = last == 0 ? null : DateTimeOffset.UtcNow - TimeSpan.FromMilliseconds(Environment.TickCount64 - last);
        return sa is InboundSa inbound
            ? new SaCounters((ulong)sa.Bytes, (ulong)sa.Packets, (ulong)inbound.ReplayDrops, (ulong)inbound.IntegrityFailures, lastUsed)
            : new SaCounters((ulong)sa.Bytes, (ulong)sa.Packets, 0, 0, lastUsed);
    }

    private void RaiseLifetime(UserspaceSa sa, SaLifetimeEvent life) =>
        ThreadPool.QueueUserWorkItem(_ => Expired?.Invoke(new SaExpiry(sa.Id, sa.Parameters.ReqId, life == SaLifetimeEvent.Hard)));

    private void CheckTimeLifetimes()
    {
        long now = Environment.TickCount64;
        foreach (var sa in _database.All)
        {
            var life = sa.CheckTime(now);
            if (life != SaLifetimeEvent.None)
                RaiseLifetime(sa, life);
        }
    }

    public void Dispose()
    {
        _lifetimeTimer?.Dispose();
        _forwarder?.Dispose();
        foreach (var fd in _raw.Values)
            Native.Close(fd);
        foreach (var sa in _database.All)
            _database.Remove(sa.Id)?.Dispose();
        _tun?.Dispose();
    }
}
