using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Kernel;

/// <summary>
/// An SA back-end that records SAs and policies in memory and carries no traffic: the fake that tests
/// inspect, and the daemon's <c>dataplane = "none"</c> (negotiation only).
/// </summary>
public sealed class MemorySaBackend : ISaBackend
{
    private readonly ConcurrentDictionary<SaId, SaParameters> _sas = new();
    // Keyed as the kernel keys policies: direction and selectors; adding again replaces (XFRM_MSG_UPDPOLICY).
    private readonly ConcurrentDictionary<(PolicyDirection, TrafficSelector, TrafficSelector), PolicyParameters> _policies = new();
    private readonly ConcurrentDictionary<uint, byte> _allocated = new();
    private readonly ConcurrentDictionary<SaId, DateTimeOffset> _lastUsed = new();
    private uint _nextSpi;

    /// <param name="firstSpi">When set, SPIs are handed out sequentially from it (deterministic tests).</param>
    public MemorySaBackend(uint? firstSpi = null) => _nextSpi = firstSpi ?? 0;

    public string Name => "memory";

    public IReadOnlyCollection<SaParameters> Sas => _sas.Values.ToList();
    public IReadOnlyCollection<PolicyParameters> Policies => _policies.Values.ToList();

    public event Action<SaExpiry>? Expired;

    public event Action<SaAcquire>? Acquired { add { } remove { } }

    public uint AllocateSpi(IPAddress source, IPAddress destination, ProtocolId protocol)
    {
        while (true)
        {
            uint spi = _nextSpi != 0 ? Interlocked.Increment(ref _nextSpi) - 1 : RandomSpi();
            if (spi >= 256 && _allocated.TryAdd(spi, 0)) // SPIs 1-255 are reserved by IANA (RFC 4303 §2.1)
                return spi;
        }
    }

    private static uint RandomSpi()
    {
        Span<byte> bytes = stackalloc byte[4];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt32(bytes) | 0xc0000000;
    }

    public void AddSa(SaParameters sa)
    {
        if (!_sas.TryAdd(sa.Id, sa))
            throw new SaBackendException($"SA {sa.Id} already exists", 17);
    }

    public void UpdateSa(SaId id, IPEndPoint newSource, IPEndPoint newDestination)
    {
        if (!_sas.TryGetValue(id, out var sa))
            throw new SaBackendException($"SA {id} not found", 2);
        _sas[id] = sa with { Source = newSource, Destination = newDestination };
    }

    public void DeleteSa(SaId id)
    {
        _sas.TryRemove(id, out _);
        _allocated.TryRemove(id.Spi, out _);
    }

    public void AddPolicy(PolicyParameters policy) => _policies[(policy.Direction, policy.Source, policy.Destination)] = policy;

    public void DeletePolicy(PolicyParameters policy) => _policies.TryRemove((policy.Direction, policy.Source, policy.Destination), out _);

    public SaCounters? QuerySa(SaId id) => _sas.ContainsKey(id) ? new SaCounters(0, 0, 0, 0, _lastUsed.TryGetValue(id, out var t) ? t : null) : null;

    /// <summary>Sets when an SA last carried a packet, as a data plane would report it (tests).</summary>
    public void SetLastUsed(SaId id, DateTimeOffset when) => _lastUsed[id] = when;

    public void Dispose() { }

    /// <summary>Raises an expiry as a kernel would (tests).</summary>
    public void RaiseExpiry(SaExpiry expiry) => Expired?.Invoke(expiry);
}
