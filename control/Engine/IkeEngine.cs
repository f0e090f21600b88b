using System.Net;
using System.Security.Cryptography;
using Rekindle.Control.Config;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Kernel;
using Rekindle.Control.Sa;
using Rekindle.Control.Tasks;

namespace Rekindle.Control.Engine;

/// <summary>
/// The IKEv2 engine: finds the IKE SA for each datagram, applies COOKIEs before any state is made, answers
/// retransmitted requests from cache, and hands everything else to the SA's task manager. Not thread-safe: the
/// owner feeds it one event at a time (datagrams, commands, timer ticks).
/// </summary>
public sealed class IkeEngine : IIkeRetransmitter
{
    private readonly IIkeNetwork _network;
    private readonly Dictionary<ulong, IkeSa> _sas = [];
    private readonly Dictionary<(ulong, IPAddress), IkeSa> _halfOpen = [];
    private readonly CookieJar _cookies = new();
    private readonly EngineContext _context;
    private int _nextUniqueId;

    public IkeEngine(IEnumerable<ConnectionConfig> connections, ISaBackend backend, IIkeNetwork network, ILog log,
        EngineOptions? options = null, TimeProvider? time = null)
    {
        Connections = connections.ToList();
        _network = network;
        _context = new EngineContext(this, backend, log, options ?? new EngineOptions(), time ?? TimeProvider.System);
    }

    public IReadOnlyList<ConnectionConfig> Connections { get; }
    public IReadOnlyCollection<IkeSa> Sas => _sas.Values;
    public EngineOptions Options => _context.Options;
    public ISaBackend Backend => _context.Backend;
    private ILog Log => _context.Log;

    /// <summary>Starts an IKE SA with its CHILD SA for a configured connection (swanctl --initiate).</summary>
    public IkeSa Initiate(string name)
    {
        var config = Connections.FirstOrDefault(c => c.Name == name)
            ?? throw new ArgumentException($"no connection named '{name}'");
        if (config.RemoteAddress == null)
            throw new InvalidOperationException($"connection '{name}' has no remote address to initiate to");
        var existing = _sas.Values.FirstOrDefault(s => s.Config == config && s.State is IkeSaState.Established);
        if (existing != null && !existing.Children.Any(c => c.Name == config.ChildName)
            && !existing.Tasks.IsQueuedOrActive<ChildCreate>())
        {
            existing.Tasks.Queue(new ChildCreate(existing, _context, true, ExchangeType.CreateChildSa));
            existing.Tasks.InitiateNext(_context);
            return existing;
        }
        var pending = existing ?? _sas.Values.FirstOrDefault(s => s.Config == config && s.State is IkeSaState.Connecting or IkeSaState.Authenticating);
        if (pending != null)
            return pending;
        var localAddress = config.LocalAddress ?? _network.LocalAddressFor(config.RemoteAddress);
        var sa = new IkeSa(++_nextUniqueId, true, NewSpi(), new IPEndPoint(localAddress, Options.IkePort),
            new IPEndPoint(config.RemoteAddress, Options.IkePort), _context.Now) { Config = config };
        _sas[sa.LocalSpi] = sa;
        Log.Info(sa, $"initiating IKE_SA to {sa.Remote.Address}");
        sa.Tasks.Queue(new IkeInit(sa, _context, true));
        sa.Tasks.Queue(new NatDetection(sa, _context, true));
        sa.Tasks.Queue(new IkeAuth(sa, _context, true));
        sa.Tasks.Queue(new ChildCreate(sa, _context, true, ExchangeType.IkeAuth));
        sa.Tasks.InitiateNext(_context);
        return sa;
    }

    /// <summary>Deletes the IKE SAs of a connection (and so their CHILD SAs); returns how many were asked to go.</summary>
    public int Terminate(string name)
    {
        int count = 0;
        foreach (var sa in _sas.Values.Where(s => s.Name == name).ToList())
        {
            count++;
            if (sa.State == IkeSaState.Established)
            {
                sa.Tasks.Queue(new IkeDelete(sa, _context, true));
                sa.Tasks.InitiateNext(_context);
            }
            else if (sa.State != IkeSaState.Deleting)
            {
                Destroy(sa, "terminated before it was established");
            }
        }
        return count;
    }

    /// <summary>Deletes one CHILD SA by name, keeping the IKE SA.</summary>
    public int TerminateChild(string connection, string child)
    {
        int count = 0;
        foreach (var sa in _sas.Values.Where(s => s.Name == connection && s.State == IkeSaState.Established).ToList())
        {
            var children = sa.Children.Where(c => c.Name == child).ToList();
            if (children.Count == 0)
                continue;
            count += children.Count;
            sa.Tasks.Queue(new ChildDelete(sa, _context, true, children));
            sa.Tasks.InitiateNext(_context);
        }
        return count;
    }

    /// <summary>Sends a liveness check on every established IKE SA of a connection.</summary>
    public void CheckLiveness(IkeSa sa)
    {
        if (sa.State == IkeSaState.Established && !sa.Tasks.IsQueuedOrActive<Liveness>())
        {
            sa.Tasks.Queue(new Liveness(sa, _context));
            sa.Tasks.InitiateNext(_context);
        }
    }

    /// <summary>Handles one IKE message (without the non-ESP marker) received on <paramref name="local"/> from <paramref name="remote"/>.</summary>
    public void Receive(ReadOnlySpan<byte> datagram, IPEndPoint local, IPEndPoint remote)
    {
        if (!IkeHeader.TryRead(datagram, out var header))
        {
            Log.Debug("engine", $"dropping malformed datagram of {datagram.Length} octets from {remote}");
            return;
        }
        if (header.Version >> 4 != 2 || !PayloadRules.IsKnownExchange(header.Exchange))
        {
            Log.Debug("engine", $"dropping message with version {header.Version:x2} / exchange {header.Exchange} from {remote}");
            return;
        }
        if (!header.IsResponse && header.Exchange == ExchangeType.IkeSaInit)
        {
            ReceiveInitRequest(datagram, header, local, remote);
            return;
        }
        ulong spi = header.IsFromInitiator ? header.ResponderSpi : header.InitiatorSpi;
        if (!_sas.TryGetValue(spi, out var sa) || (header.IsFromInitiator == sa.IsOriginalInitiator))
        {
            Log.Debug("engine", $"dropping {header.Exchange} for unknown IKE SA {header.InitiatorSpi:x16}_i {header.ResponderSpi:x16}_r from {remote}");
            return;
        }
        var result = MessageCodec.Decode(datagram, header, PayloadRules.IsProtected(header.Exchange) ? sa.Protection : null);
        if (result.Error != DecodeError.None)
        {
            HandleDecodeError(sa, header, result);
            return;
        }
        var message = result.Message!;
        Log.Debug(sa, $"received {message} from {remote}");
        if (message.IsResponse)
        {
            sa.LastInbound = _context.Now;
            if (message.Exchange == ExchangeType.IkeSaInit)
                sa.InitResponse = datagram[..(int)header.Length].ToArray();
            sa.Tasks.ProcessResponse(_context, message);
            return;
        }
        if (message.MessageId == sa.ExpectedPeerRequestId - 1 && sa.CachedResponse != null)
        {
            Log.Debug(sa, $"retransmitting response to {message.Exchange} request {message.MessageId}");
            _network.Send(sa.Local, sa.Remote, sa.CachedResponse);
            return;
        }
        if (message.MessageId != sa.ExpectedPeerRequestId)
        {
            Log.Debug(sa, $"dropping request with message ID {message.MessageId}, expected {sa.ExpectedPeerRequestId}");
            return;
        }
        sa.LastInbound = _context.Now;
        // Answer where the request came from: after a NAT, the peer moves to the NAT-T port (RFC 7296 §2.23).
        sa.Local = local;
        sa.Remote = remote;
        var passive = PassiveTasks(sa, message);
        if (passive == null)
        {
            Log.Debug(sa, $"ignoring {message.Exchange} request in state {sa.State}");
            return;
        }
        sa.Tasks.ProcessRequest(_context, message, passive);
        if (sa.State == IkeSaState.Established)
            _halfOpen.Remove((sa.InitiatorSpi, sa.Remote.Address));
    }

    /// <summary>The responder tasks a request calls for, by exchange and state (null: ignore the request).</summary>
    private List<IkeTask>? PassiveTasks(IkeSa sa, IkeMessage request) => (request.Exchange, sa.State) switch
    {
        (ExchangeType.IkeAuth, IkeSaState.Authenticating) when !sa.IsOriginalInitiator =>
            [new IkeAuth(sa, _context, false), new ChildCreate(sa, _context, false, ExchangeType.IkeAuth)],
        (ExchangeType.Informational, IkeSaState.Established or IkeSaState.Deleting) =>
            [new IkeDelete(sa, _context, false), new ChildDelete(sa, _context, false)],
        (ExchangeType.CreateChildSa, IkeSaState.Established) => request.GetNotify(NotifyType.RekeySa) != null || request.Get<KePayload>() is { } && request.Get<TsPayload>() == null
            ? [new CreateChildDecline(sa, _context)]
            : [new ChildCreate(sa, _context, false, ExchangeType.CreateChildSa)],
        _ => null,
    };

    private void ReceiveInitRequest(ReadOnlySpan<byte> datagram, IkeHeader header, IPEndPoint local, IPEndPoint remote)
    {
        if (header.ResponderSpi != 0 || header.MessageId != 0)
            return;
        if (_halfOpen.TryGetValue((header.InitiatorSpi, remote.Address), out var existing))
        {
            if (existing.CachedResponse != null)
            {
                Log.Debug(existing, "retransmitting IKE_SA_INIT response");
                _network.Send(existing.Local, existing.Remote, existing.CachedResponse);
            }
            return;
        }
        var result = MessageCodec.Decode(datagram, header, null);
        if (result.Error is DecodeError.InvalidSyntax or DecodeError.UnsupportedCriticalPayload)
        {
            Log.Info("engine", $"IKE_SA_INIT from {remote} is malformed ({result.Error})");
            SendStateless(header, local, remote, ErrorNotify(result));
            return;
        }
        if (result.Error != DecodeError.None)
            return;
        var request = result.Message!;
        var config = Connections.FirstOrDefault(c => c.MatchesAddresses(local.Address, remote.Address));
        if (config == null)
        {
            Log.Info("engine", $"no connection for IKE_SA_INIT from {remote} to {local.Address}, answering NO_PROPOSAL_CHOSEN");
            SendStateless(header, local, remote, new NotifyPayload(NotifyType.NoProposalChosen));
            return;
        }
        if (_halfOpen.Count >= Options.CookieThreshold)
        {
            var nonce = request.Get<NoncePayload>();
            var cookie = request.Payloads.FirstOrDefault() as NotifyPayload;
            if (nonce == null)
                return;
            if (cookie is not { NotifyType: NotifyType.Cookie } || !_cookies.Verify(cookie.Data, nonce.Data, remote.Address, header.InitiatorSpi))
            {
                Log.Debug("engine", $"{_halfOpen.Count} half-open IKE SAs, asking {remote} for a COOKIE");
                SendStateless(header, local, remote, new NotifyPayload(NotifyType.Cookie, _cookies.Make(nonce.Data, remote.Address, header.InitiatorSpi)));
                return;
            }
        }
        var sa = new IkeSa(++_nextUniqueId, false, header.InitiatorSpi, local, remote, _context.Now) { Config = config, ResponderSpi = NewSpi() };
        _sas[sa.LocalSpi] = sa;
        _halfOpen[(sa.InitiatorSpi, remote.Address)] = sa;
        sa.InitRequest = datagram[..(int)header.Length].ToArray();
        sa.ExpectedPeerRequestId = 0;
        Log.Info(sa, $"{remote.Address} is initiating an IKE_SA");
        sa.Tasks.ProcessRequest(_context, request, [new IkeInit(sa, _context, false), new NatDetection(sa, _context, false)]);
        if (sa.State != IkeSaState.Destroyed)
            sa.InitResponse = sa.CachedResponse!;
    }

    private static NotifyPayload ErrorNotify(DecodeResult result) => result.Error == DecodeError.UnsupportedCriticalPayload
        ? new NotifyPayload(NotifyType.UnsupportedCriticalPayload, [(byte)result.UnsupportedType])
        : new NotifyPayload(NotifyType.InvalidSyntax);

    private void HandleDecodeError(IkeSa sa, IkeHeader header, DecodeResult result)
    {
        if (result.Error == DecodeError.Drop || header.IsResponse || header.MessageId != sa.ExpectedPeerRequestId)
        {
            Log.Debug(sa, $"dropping {header.Exchange} {(header.IsResponse ? "response" : "request")} {header.MessageId} ({result.Error})");
            return;
        }
        // The message passed its integrity check, so it is answered (RFC 7296 §2.21.2, §2.5).
        Log.Info(sa, $"{header.Exchange} request {header.MessageId} is malformed ({result.Error}), answering with an error");
        var response = sa.NewMessage(header.Exchange, response: true, header.MessageId);
        response.Add(ErrorNotify(result));
        sa.CachedResponse = Send(sa, response);
        sa.ExpectedPeerRequestId++;
    }

    private void SendStateless(IkeHeader request, IPEndPoint local, IPEndPoint remote, NotifyPayload notify)
    {
        var response = new IkeMessage
        {
            InitiatorSpi = request.InitiatorSpi,
            ResponderSpi = 0,
            Exchange = request.Exchange,
            IsResponse = true,
            MessageId = request.MessageId,
            Payloads = [notify],
        };
        _network.Send(local, remote, MessageCodec.Encode(response, null));
    }

    /// <summary>Timer tick: retransmissions, half-open timeouts, liveness checks, COOKIE secret rotation.</summary>
    public void OnTimer()
    {
        var now = _context.Now;
        foreach (var sa in _sas.Values.ToList())
        {
            sa.Tasks.OnTimer(_context, this);
            if (sa.State is IkeSaState.Connecting or IkeSaState.Authenticating && !sa.IsOriginalInitiator
                && now - sa.Created > Options.HalfOpenTimeout)
            {
                Destroy(sa, "half-open IKE_SA timed out");
                continue;
            }
            if (sa.State != IkeSaState.Established)
                continue;
            // Traffic-aware liveness: only a peer silent on IKE and ESP alike is asked (strongSwan's dpd_delay).
            var delay = sa.Config?.DpdDelay ?? TimeSpan.Zero;
            if (delay > TimeSpan.Zero && sa.Tasks.Idle && now - LastHeard(sa) >= delay)
                CheckLiveness(sa);
            var keepalive = Options.KeepaliveInterval;
            if (keepalive > TimeSpan.Zero && sa.LocalBehindNat && now - LastSent(sa) >= keepalive)
            {
                sa.LastOutbound = now;
                _network.SendKeepalive(sa.Local, sa.Remote);
            }
        }
    }

    /// <summary>Rotates the COOKIE secret (call every few minutes).</summary>
    public void RotateCookieSecret() => _cookies.Rotate();

    void IIkeRetransmitter.Resend(IkeSa sa, byte[] message)
    {
        sa.LastOutbound = _context.Now;
        _network.Send(sa.Local, sa.Remote, message);
    }

    /// <summary>
    /// A CHILD SA reached a lifetime in the back-end. Hard: it carries nothing more and is deleted on both sides.
    /// Soft: the point to rekey, which later work hooks in here; until then the SA runs to its hard limit.
    /// </summary>
    public void OnSaExpired(SaExpiry expiry)
    {
        foreach (var sa in _sas.Values)
        {
            var child = sa.Children.FirstOrDefault(c => c.InboundId == expiry.Id || c.OutboundId == expiry.Id);
            if (child == null)
                continue;
            if (!expiry.Hard)
            {
                Log.Info(sa, $"CHILD_SA {child.Name}{{{child.ReqId}}} reached its soft lifetime; rekeying is not supported yet, it lives until the hard lifetime");
                return;
            }
            Log.Info(sa, $"CHILD_SA {child.Name}{{{child.ReqId}}} reached its hard lifetime, deleting it");
            if (sa.State == IkeSaState.Established)
            {
                sa.Tasks.Queue(new ChildDelete(sa, _context, true, [child]));
                sa.Tasks.InitiateNext(_context);
            }
            else
            {
                ChildSaInstaller.Uninstall(_context, sa, child);
            }
            return;
        }
    }

    /// <summary>Installs the outbound trap policies of start_action = trap connections.</summary>
    public void InstallTraps()
    {
        foreach (var config in Connections.Where(c => c.StartAction == StartAction.Trap && c.RemoteAddress != null))
            InstallTrap(config);
    }

    private void InstallTrap(ConnectionConfig config)
    {
        var local = config.LocalAddress ?? _network.LocalAddressFor(config.RemoteAddress!);
        foreach (var source in config.LocalTs)
        {
            foreach (var destination in config.RemoteTs)
            {
                try
                {
                    Backend.AddPolicy(new PolicyParameters(PolicyDirection.Out, source, destination, local, config.RemoteAddress!, _context.NextReqId()));
                }
                catch (SaBackendException e)
                {
                    Log.Error(config.Name, $"installing trap policy {source} === {destination} failed: {e.Message}");
                    return;
                }
            }
        }
        Log.Info(config.Name, $"trap policy installed: {string.Join(" ", config.LocalTs)} === {string.Join(" ", config.RemoteTs)}");
    }

    /// <summary>Traffic hit a trap policy: initiate the connection whose selectors cover it.</summary>
    public void OnAcquire(SaAcquire acquire)
    {
        var config = Connections.FirstOrDefault(c => c.StartAction == StartAction.Trap
            && c.LocalTs.Any(t => acquire.Source.Intersect(t) == acquire.Source) && c.RemoteTs.Any(t => acquire.Destination.Intersect(t) == acquire.Destination));
        if (config == null)
        {
            Log.Debug("engine", $"acquire for {acquire.Source} === {acquire.Destination} matches no trap connection");
            return;
        }
        Log.Info(config.Name, $"acquire for {acquire.Source} === {acquire.Destination}, initiating");
        Initiate(config.Name);
    }

    /// <summary>The last sign of life from the peer: an IKE message or an ESP packet on one of its CHILD SAs.</summary>
    private DateTimeOffset LastHeard(IkeSa sa) => sa.Children
        .Select(c => Backend.QuerySa(c.InboundId)?.LastUsed ?? DateTimeOffset.MinValue)
        .Append(sa.LastInbound).Max();

    private DateTimeOffset LastSent(IkeSa sa) => sa.Children
        .Select(c => Backend.QuerySa(c.OutboundId)?.LastUsed ?? DateTimeOffset.MinValue)
        .Append(sa.LastOutbound).Max();

    internal byte[] Send(IkeSa sa, IkeMessage message)
    {
        var bytes = MessageCodec.Encode(message, PayloadRules.IsProtected(message.Exchange) ? sa.Protection : null);
        if (message.Exchange == ExchangeType.IkeSaInit && !message.IsResponse)
            sa.InitRequest = bytes;
        Log.Debug(sa, $"sending {message} to {sa.Remote}");
        sa.LastOutbound = _context.Now;
        _network.Send(sa.Local, sa.Remote, bytes);
        return bytes;
    }

    public void Destroy(IkeSa sa, string reason)
    {
        if (sa.State == IkeSaState.Destroyed)
            return;
        foreach (var child in sa.Children.ToList())
            ChildSaInstaller.Uninstall(_context, sa, child);
        sa.State = IkeSaState.Destroyed;
        sa.Reason = reason;
        _sas.Remove(sa.LocalSpi);
        _halfOpen.Remove((sa.InitiatorSpi, sa.Remote.Address));
        Log.Info(sa, $"IKE_SA {sa.InitiatorSpi:x16}_i {sa.ResponderSpi:x16}_r destroyed: {reason}");
        if (sa.Config is { StartAction: StartAction.Trap } trap && sa.IsOriginalInitiator)
            InstallTrap(trap); // the next packet brings the tunnel back
    }

    internal void RaiseEstablished(IkeSa sa)
    {
        Log.Info(sa, $"IKE_SA {sa.Name}[{sa.UniqueId}] established between {sa.Local}[{sa.LocalId}]...{sa.Remote}[{sa.RemoteId}] ({sa.Suite})");
    }

    private ulong NewSpi()
    {
        while (true)
        {
            ulong spi = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
            if (spi != 0 && !_sas.ContainsKey(spi))
                return spi;
        }
    }
}
