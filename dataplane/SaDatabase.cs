using Rekindle.Control.Kernel;
using Rekindle.Dataplane.Esp;

namespace Rekindle.Dataplane;

/// <summary>
/// The userspace SAD and SPD. Forwarding threads read immutable snapshots without locking; the control plane
/// replaces them under a lock (copy on write), which is cheap because SAs change rarely and packets often.
/// </summary>
public sealed class SaDatabase
{
    private readonly Lock _write = new();
    private volatile Dictionary<uint, InboundSa> _inbound = [];
    private volatile Dictionary<uint, OutboundSa> _outboundByReqId = [];
    private volatile Route[] _routes = [];
    private readonly Dictionary<SaId, UserspaceSa> _all = [];

    /// <summary>An outbound policy: packets from Local to Remote use the outbound SA of ReqId.</summary>
    private sealed record Route(PolicyParameters Policy, SelectorRange Local, SelectorRange Remote);

    public InboundSa? FindInbound(uint spi) => _inbound.GetValueOrDefault(spi);

    /// <summary>The outbound SA for an inner packet, by the first policy whose selectors match it.</summary>
    public OutboundSa? FindOutbound(in PacketSummary packet)
    {
        foreach (var route in _routes)
        {
            if (route.Local.Matches(packet, source: true) && route.Remote.Matches(packet, source: false))
                return _outboundByReqId.GetValueOrDefault(route.Policy.ReqId);
        }
        return null;
    }

    public UserspaceSa? Find(SaId id)
    {
        lock (_write)
            return _all.GetValueOrDefault(id);
    }

    public IReadOnlyList<UserspaceSa> All
    {
        get
        {
            lock (_write)
                return _all.Values.ToList();
        }
    }

    public bool ContainsSpi(uint spi) => _inbound.ContainsKey(spi);

    public void Add(UserspaceSa sa)
    {
        lock (_write)
        {
            if (!_all.TryAdd(sa.Id, sa))
                throw new SaBackendException($"SA {sa.Id} already exists", 17);
            switch (sa)
            {
                case InboundSa inbound:
                    _inbound = new Dictionary<uint, InboundSa>(_inbound) { [inbound.Spi] = inbound };
                    break;
                case OutboundSa outbound:
                    _outboundByReqId = new Dictionary<uint, OutboundSa>(_outboundByReqId) { [outbound.Parameters.ReqId] = outbound };
                    break;
            }
        }
    }

    public UserspaceSa? Remove(SaId id)
    {
        lock (_write)
        {
            if (!_all.Remove(id, out var sa))
                return null;
            if (sa is InboundSa)
            {
                var inbound = new Dictionary<uint, InboundSa>(_inbound);
                inbound.Remove(sa.Spi);
                _inbound = inbound;
            }
            else if (_outboundByReqId.TryGetValue(sa.Parameters.ReqId, out var current) && current == sa)
            {
                var outbound = new Dictionary<uint, OutboundSa>(_outboundByReqId);
                outbound.Remove(sa.Parameters.ReqId);
                _outboundByReqId = outbound;
            }
            return sa;
        }
    }

    public void AddRoute(PolicyParameters policy)
    {
        lock (_write)
        {
            var route = new Route(policy, new SelectorRange(policy.Source), new SelectorRange(policy.Destination));
            // Narrower policies first, as the kernel orders them by priority.
            // The selectors are the policy's identity, as in the kernel: adding again replaces (a trap by its SA's policy).
            _routes = [.. _routes.Where(r => !SameSelectors(r.Policy, policy)).Append(route).OrderBy(r => Width(r.Policy))];
        }
    }

    public bool RemoveRoute(PolicyParameters policy)
    {
        lock (_write)
        {
            int before = _routes.Length;
            _routes = _routes.Where(r => !SameSelectors(r.Policy, policy)).ToArray();
            return _routes.Length != before;
        }
    }

    public bool HasRouteTo(Rekindle.Control.Encoding.Payloads.TrafficSelector remote)
    {
        lock (_write)
            return _routes.Any(r => r.Policy.Destination == remote);
    }

    private static bool SameSelectors(PolicyParameters a, PolicyParameters b) => a.Source == b.Source && a.Destination == b.Destination;

    private static System.Numerics.BigInteger Width(PolicyParameters policy) =>
        Size(policy.Source) * Size(policy.Destination);

    private static System.Numerics.BigInteger Size(Rekindle.Control.Encoding.Payloads.TrafficSelector ts) =>
        new System.Numerics.BigInteger(ts.End.GetAddressBytes(), true, true) - new System.Numerics.BigInteger(ts.Start.GetAddressBytes(), true, true) + 1;
}
