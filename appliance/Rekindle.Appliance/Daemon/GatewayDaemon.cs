using System.Net;
using Rekindle.Appliance.Configuration;
using Rekindle.Appliance.ControlSocket;
using Rekindle.Control.Config;
using Rekindle.Control.Engine;
using Rekindle.Control.Kernel;
using Rekindle.Control.Sa;
using Rekindle.Dataplane;
using Rekindle.Xfrm;
using Rekindle.Xfrm.Interop;

namespace Rekindle.Appliance.Daemon;

/// <summary>
/// rekindled: the engine, its sockets, the SA back-end, the control socket and the timer, joined.
/// Every engine call happens under one lock, so datagrams, commands and timer ticks reach it one at a time.
/// </summary>
public sealed class GatewayDaemon(RekindleConfig config, ILog log)
{
    private static readonly TimeSpan TimerInterval = TimeSpan.FromMilliseconds(100);
    private readonly Lock _lock = new();
    private IkeEngine? _engine;
    private UdpIkeSockets? _sockets;

    public async Task RunAsync(CancellationToken cancellation)
    {
        var addresses = config.Connections.Any(c => c.LocalAddress == null)
            ? [IPAddress.Any]
            : config.Connections.Select(c => c.LocalAddress!).Distinct().ToList();
        using var sockets = new UdpIkeSockets(addresses, config.Engine.IkePort, config.Engine.NatTPort, log);
        _sockets = sockets;
        using var backend = CreateBackend();
        var engine = new IkeEngine(config.Connections, backend, sockets, log, config.Engine);
        _engine = engine;
        backend.Expired += expiry => { lock (_lock) engine.OnSaExpired(expiry); };
        backend.Acquired += acquire => { lock (_lock) engine.OnAcquire(acquire); };
        if (backend is XfrmBackend xfrm)
        {
            foreach (var socket in sockets.Sockets)
                XfrmBackend.BypassSocket(socket);
            sockets.EnableKernelEspInUdp();
            xfrm.StartMonitor();
        }
        if (backend is UserspaceBackend userspace)
        {
            userspace.Start(sockets.TakeNatTReceive(), (data, local, remote) =>
            {
                // A wildcard-bound socket does not say which local address was hit: ask routing.
                if (local.Address.Equals(IPAddress.Any) || local.Address.Equals(IPAddress.IPv6Any))
                    local = new IPEndPoint(sockets.LocalAddressFor(remote.Address), local.Port);
                lock (_lock)
                    engine.Receive(data, local, remote);
            });
        }
        log.Info("daemon", $"rekindled started: {config.Connections.Count} connection(s) from {config.Path}, " +
            $"listening on {string.Join(", ", addresses)} ports {config.Engine.IkePort}/{config.Engine.NatTPort}, SA back-end '{backend.Name}'");
        if (config.Daemon.Dataplane == "none")
            log.Info("daemon", "dataplane = \"none\": CHILD SAs are negotiated and recorded, no traffic is carried");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var server = new ControlServer(config.Daemon.Socket, Handle, log);
        var tasks = new List<Task>
        {
            sockets.RunAsync((data, local, remote) => { lock (_lock) engine.Receive(data.Span, local, remote); }, stop.Token),
            server.RunAsync(stop.Token),
            TimerLoop(engine, stop.Token),
        };
        lock (_lock)
            engine.InstallTraps();
        foreach (var connection in config.Connections.Where(c => c.StartAction == StartAction.Initiate))
        {
            lock (_lock)
                engine.Initiate(connection.Name);
        }
        try
        {
            await Task.Delay(Timeout.Infinite, cancellation);
        }
        catch (OperationCanceledException)
        {
        }
        await ShutdownAsync(engine);
        stop.Cancel();
        await Task.WhenAll(tasks.Select(t => t.ContinueWith(_ => { })));
        log.Info("daemon", "rekindled stopped");
    }

    private ISaBackend CreateBackend()
    {
        switch (config.Daemon.Dataplane)
        {
            case "none":
                return new MemorySaBackend();
            case "userspace":
                return new UserspaceBackend(config.Daemon.TunName, config.Daemon.Mtu, log);
            case "xfrm":
                try
                {
                    return new XfrmBackend(log);
                }
                catch (XfrmException e)
                {
                    throw new InvalidOperationException($"dataplane \"xfrm\": {e.Message}", e);
                }
            default: // auto: the kernel when it can hold an ESP SA, user space otherwise
                XfrmBackend? kernel = null;
                string? reason;
                try
                {
                    kernel = new XfrmBackend(log);
                    reason = kernel.ProbeEsp();
                }
                catch (XfrmException e)
                {
                    reason = e.Message;
                }
                if (reason == null)
                {
                    log.Info("daemon", "dataplane = \"auto\": the kernel holds ESP SAs, using the xfrm back-end");
                    return kernel!;
                }
                kernel?.Dispose();
                log.Info("daemon", $"dataplane = \"auto\": using the userspace back-end, the kernel cannot hold an ESP SA ({reason})");
                return new UserspaceBackend(config.Daemon.TunName, config.Daemon.Mtu, log);
        }
    }

    /// <summary>Deletes every IKE SA and waits a moment for the peers to confirm, so no state is left behind on either side.</summary>
    private async Task ShutdownAsync(IkeEngine engine)
    {
        List<string> names;
        lock (_lock)
            names = engine.Sas.Select(s => s.Name).Distinct().ToList();
        if (names.Count == 0)
            return;
        log.Info("daemon", $"shutting down: deleting {names.Count} IKE_SA(s)");
        lock (_lock)
        {
            foreach (var name in names)
                engine.Terminate(name);
        }
        await WaitAsync(() => engine.Sas.Count == 0, TimeSpan.FromSeconds(3));
        lock (_lock)
        {
            foreach (var sa in engine.Sas.ToList())
                engine.Destroy(sa, "daemon shutdown");
        }
    }

    private async Task TimerLoop(IkeEngine engine, CancellationToken cancellation)
    {
        using var timer = new PeriodicTimer(TimerInterval);
        var lastRotation = DateTime.UtcNow;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellation))
            {
                lock (_lock)
                {
                    engine.OnTimer();
                    if (DateTime.UtcNow - lastRotation > TimeSpan.FromMinutes(5))
                    {
                        engine.RotateCookieSecret();
                        lastRotation = DateTime.UtcNow;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds (checked under the engine lock) or the timeout passes.</summary>
    private async Task<bool> WaitAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            lock (_lock)
            {
                if (condition())
                    return true;
            }
            if (DateTime.UtcNow >= deadline)
                return false;
            await Task.Delay(20);
        }
    }

    private async Task<ControlResponse> Handle(ControlRequest request)
    {
        var engine = _engine!;
        var timeout = TimeSpan.FromSeconds(Math.Clamp(request.TimeoutSeconds, 0, 600));
        switch (request.Command)
        {
            case "list-sas":
                lock (_lock)
                {
                    var now = DateTimeOffset.UtcNow;
                    return new ControlResponse(true, Sas: engine.Sas.Where(s => request.Name == null || s.Name == request.Name)
                        .OrderBy(s => s.UniqueId).Select(s => SaViews.Of(s, now)).ToList());
                }
            case "stats":
                lock (_lock)
                    return Stats(engine, _sockets!, request.Name);
            case "keys":
                lock (_lock)
                    return Keys(engine);
            case "capture":
                return await Capture(engine, request);
            case "list-conns":
                return new ControlResponse(true, Connections: engine.Connections.Select(SaViews.Of).ToList());
            case "up":
                return await Up(engine, request.Name, timeout);
            case "down":
                return await Down(engine, request.Name, request.Child, timeout);
            default:
                return new ControlResponse(false, $"unknown command '{request.Command}'");
        }
    }

    private static ControlResponse Keys(IkeEngine engine)
    {
        static string Hex(byte[] b) => Convert.ToHexStringLower(b);
        var ike = new List<IkeKeysView>();
        var esp = new List<EspKeysView>();
        foreach (var sa in engine.Sas.Where(s => s.Keys != null && s.Suite != null))
        {
            var suite = sa.Suite!;
            ike.Add(new IkeKeysView($"{sa.InitiatorSpi:x16}", $"{sa.ResponderSpi:x16}", (int)suite.Cipher.Id, suite.Cipher.KeyBits,
                (int)(suite.Integrity?.Id ?? 0), Hex(sa.Keys!.SkEi), Hex(sa.Keys.SkEr), Hex(sa.Keys.SkAi), Hex(sa.Keys.SkAr)));
            foreach (var child in sa.Children)
            {
                var c = child.Suite;
                esp.Add(new EspKeysView(sa.Remote.Address.ToString(), sa.Local.Address.ToString(), $"{child.InboundSpi:x8}", (int)c.Cipher.Id,
                    c.Cipher.KeyBits, (int)(c.Integrity?.Id ?? 0), Hex(child.Keys.InboundEncryption), Hex(child.Keys.InboundIntegrity)));
                esp.Add(new EspKeysView(sa.Local.Address.ToString(), sa.Remote.Address.ToString(), $"{child.OutboundSpi:x8}", (int)c.Cipher.Id,
                    c.Cipher.KeyBits, (int)(c.Integrity?.Id ?? 0), Hex(child.Keys.OutboundEncryption), Hex(child.Keys.OutboundIntegrity)));
            }
        }
        return new ControlResponse(true, Message: $"{ike.Count} IKE SA(s), {esp.Count} ESP SA(s)", IkeKeys: ike, EspKeys: esp);
    }

    /// <summary>Captures a connection's IKE and ESP traffic into a pcapng file (the capture path, off the forwarding path).</summary>
    private async Task<ControlResponse> Capture(IkeEngine engine, ControlRequest request)
    {
        if (request.Path == null || !Path.IsPathRooted(request.Path))
            return new ControlResponse(false, "capture needs an absolute --out path");
        IPAddress local, peer;
        lock (_lock)
        {
            var sa = engine.Sas.FirstOrDefault(s => s.Name == request.Name);
            var connection = engine.Connections.FirstOrDefault(c => c.Name == request.Name);
            if (sa == null && connection?.RemoteAddress == null)
                return new ControlResponse(false, $"no IKE_SA or connection with a remote address named '{request.Name}'");
            peer = sa?.Remote.Address ?? connection!.RemoteAddress!;
            local = sa?.Local.Address ?? connection!.LocalAddress ?? _sockets!.LocalAddressFor(peer);
        }
        var duration = TimeSpan.FromSeconds(Math.Clamp(request.TimeoutSeconds, 1, 3600));
        try
        {
            var summary = await Task.Run(() => Rekindle.Dataplane.Capture.TrafficCapture.Run(local, peer, config.Engine.IkePort, config.Engine.NatTPort,
                request.Path, duration,
                name => log.Info("capture", $"capturing IKE and ESP traffic with {peer} on {name} for {duration.TotalSeconds:0}s to {request.Path}"),
                CancellationToken.None));
            return new ControlResponse(true, Message: $"captured {summary.Packets} packet(s) on {summary.Interface} to {request.Path}: " +
                $"{summary.Ike} IKE, {summary.Esp} ESP, {summary.Keepalives} NAT-T keepalive(s)");
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException or SharpPcap.PcapException or DllNotFoundException)
        {
            return new ControlResponse(false, $"capture failed: {e.Message}");
        }
    }

    private static ControlResponse Stats(IkeEngine engine, UdpIkeSockets sockets, string? name)
    {
        var now = DateTimeOffset.UtcNow;
        var stats = new List<SaStatsView>();
        foreach (var sa in engine.Sas.Where(s => name == null || s.Name == name).OrderBy(s => s.UniqueId))
        {
            foreach (var child in sa.Children)
            {
                foreach (var (direction, id) in new[] { ("in", child.InboundId), ("out", child.OutboundId) })
                {
                    var c = engine.Backend.QuerySa(id);
                    if (c != null)
                        stats.Add(new SaStatsView(sa.Name, child.Name, child.ReqId, direction, $"{id.Spi:x8}", c.Packets, c.Bytes,
                            c.ReplayDrops, c.IntegrityFailures, c.LastUsed is { } last ? Math.Round((now - last).TotalSeconds, 1) : null));
                }
            }
        }
        Dictionary<string, long>? counters = engine.Backend switch
        {
            UserspaceBackend { Forwarder: { } f } => new()
            {
                ["no-policy"] = f.NoPolicyDrops, ["no-socket"] = f.NoSocketDrops, ["unknown-spi"] = f.UnknownSpiDrops,
                ["malformed"] = f.MalformedDrops, ["keepalives-received"] = f.KeepalivesReceived,
            },
            MemorySaBackend => new() { ["esp-dropped-no-dataplane"] = sockets.EspDropped },
            _ => null,
        };
        return new ControlResponse(true, Stats: stats, DataplaneCounters: counters);
    }

    private async Task<ControlResponse> Up(IkeEngine engine, string? name, TimeSpan timeout)
    {
        IkeSa sa;
        ConnectionConfig? connection;
        lock (_lock)
        {
            connection = engine.Connections.FirstOrDefault(c => c.Name == name);
            if (connection == null)
                return new ControlResponse(false, $"no connection named '{name}'");
            try
            {
                sa = engine.Initiate(connection.Name);
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException)
            {
                return new ControlResponse(false, e.Message);
            }
        }
        bool settled = await WaitAsync(() => sa.State == IkeSaState.Destroyed
            || sa.State == IkeSaState.Established && sa.Tasks.Idle, timeout);
        lock (_lock)
        {
            if (!settled)
                return new ControlResponse(false, $"IKE_SA {sa} not established after {timeout.TotalSeconds:0}s (state {SaViews.State(sa.State)})");
            if (sa.State == IkeSaState.Destroyed)
                return new ControlResponse(false, $"establishing IKE_SA {sa} failed: {sa.Reason}");
            var child = sa.Children.FirstOrDefault(c => c.Name == connection.ChildName);
            if (child == null)
                return new ControlResponse(false, $"IKE_SA {sa} established, but CHILD_SA {connection.ChildName} failed (see the log)");
            return new ControlResponse(true, Message: $"IKE_SA {sa} established, CHILD_SA {child.Name}{{{child.ReqId}}} established " +
                $"with SPIs {child.InboundSpi:x8}_i {child.OutboundSpi:x8}_o");
        }
    }

    private async Task<ControlResponse> Down(IkeEngine engine, string? name, string? child, TimeSpan timeout)
    {
        int count;
        List<IkeSa> affected;
        lock (_lock)
        {
            affected = engine.Sas.Where(s => s.Name == name).ToList();
            count = child == null ? engine.Terminate(name ?? "") : engine.TerminateChild(name ?? "", child);
        }
        if (count == 0)
            return new ControlResponse(false, child == null ? $"no IKE_SA named '{name}'" : $"no CHILD_SA '{child}' in '{name}'");
        bool done = await WaitAsync(() => child == null
            ? affected.All(s => s.State == IkeSaState.Destroyed)
            : affected.All(s => s.Children.All(c => c.Name != child)), timeout);
        return done
            ? new ControlResponse(true, Message: child == null ? $"IKE_SA '{name}' deleted ({count})" : $"CHILD_SA '{child}' of '{name}' deleted ({count})")
            : new ControlResponse(false, $"deleting '{name}' did not complete within {timeout.TotalSeconds:0}s");
    }
}
