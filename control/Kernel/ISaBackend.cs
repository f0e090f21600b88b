using System.Net;
using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Kernel;

/// <summary>
/// Where CHILD SAs and their policies live: the kernel's XFRM, the userspace data plane, or a fake for tests.
/// The control plane talks to it through this one narrow interface, as strongSwan's kernel_ipsec_t.
/// Failures are reported as <see cref="SaBackendException"/> naming what is missing.
/// </summary>
public interface ISaBackend : IDisposable
{
    /// <summary>A short name for logs and <c>list-sas</c> ("memory", "userspace", "xfrm").</summary>
    string Name { get; }

    /// <summary>Reserves an inbound SPI for an SA from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    uint AllocateSpi(IPAddress source, IPAddress destination, ProtocolId protocol);

    void AddSa(SaParameters sa);

    /// <summary>Changes an installed SA's endpoints or encapsulation (NAT rebinding).</summary>
    void UpdateSa(SaId id, IPEndPoint newSource, IPEndPoint newDestination);

    /// <summary>Removes an SA; removing one that is gone is not an error.</summary>
    void DeleteSa(SaId id);

    void AddPolicy(PolicyParameters policy);

    void DeletePolicy(PolicyParameters policy);

    /// <summary>Traffic counters, or null if the SA is not installed.</summary>
    SaCounters? QuerySa(SaId id);

    /// <summary>Soft and hard lifetime expiries, raised by the back-end.</summary>
    event Action<SaExpiry>? Expired;

    /// <summary>Traffic hit a trap policy that has no SA yet: a negotiation should start (XFRM ACQUIRE).</summary>
    event Action<SaAcquire>? Acquired;
}

/// <summary>An on-demand negotiation request: the policy's ReqId and the packet's selectors.</summary>
public sealed record SaAcquire(uint ReqId, TrafficSelector Source, TrafficSelector Destination)
{
    /// <summary>The kernel's index of the policy that trapped the packet, when known.</summary>
    public uint PolicyIndex { get; init; }
}

/// <summary>Identifies an SA the way the kernel does: destination, SPI, protocol.</summary>
public readonly record struct SaId(IPAddress Destination, uint Spi, ProtocolId Protocol = ProtocolId.Esp)
{
    public override string ToString() => $"{Protocol} {Spi:x8} -> {Destination}";
}

public enum SaDirection
{
    Inbound,
    Outbound,
}

/// <summary>Lifetime limits; zero means unlimited.</summary>
public sealed record SaLifetime(ulong SoftBytes = 0, ulong HardBytes = 0, ulong SoftPackets = 0, ulong HardPackets = 0,
    TimeSpan SoftTime = default, TimeSpan HardTime = default);

/// <summary>Everything needed to install one direction of a CHILD SA (ESP, tunnel mode).</summary>
public sealed record SaParameters(
    SaId Id,
    SaDirection Direction,
    IPEndPoint Source,
    IPEndPoint Destination,
    ChildCryptoSuite Suite,
    byte[] EncryptionKey,
    byte[] IntegrityKey,
    IReadOnlyList<TrafficSelector> LocalTs,
    IReadOnlyList<TrafficSelector> RemoteTs,
    bool UdpEncapsulation,
    uint ReqId,
    int ReplayWindow = 1024,
    SaLifetime? Lifetime = null,
    XfrmMark? Mark = null);

/// <summary>An XFRM mark (value and mask) that SAs and policies match on, as strongSwan's mark_in/mark_out.</summary>
public readonly record struct XfrmMark(uint Value, uint Mask = uint.MaxValue)
{
    public static XfrmMark Parse(string text)
    {
        var parts = text.Split('/');
        static uint Number(string s) => s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? Convert.ToUInt32(s[2..], 16) : uint.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            return parts.Length switch
            {
                1 => new XfrmMark(Number(parts[0])),
                2 => new XfrmMark(Number(parts[0]), Number(parts[1])),
                _ => throw new FormatException(),
            };
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw new FormatException($"'{text}' is not a mark such as 42, 0x2a or 0x2a/0xff");
        }
    }

    public override string ToString() => $"0x{Value:x}/0x{Mask:x}";
}

public enum PolicyDirection
{
    In,
    Out,
    Forward,
}

/// <summary>A tunnel-mode policy: traffic from <see cref="Source"/> to <see cref="Destination"/> uses the SA with this ReqId.</summary>
public sealed record PolicyParameters(
    PolicyDirection Direction,
    TrafficSelector Source,
    TrafficSelector Destination,
    IPAddress TunnelSource,
    IPAddress TunnelDestination,
    uint ReqId,
    uint Priority = 0,
    XfrmMark? Mark = null);

public sealed record SaCounters(ulong Bytes, ulong Packets, ulong ReplayDrops, ulong IntegrityFailures, DateTimeOffset? LastUsed);

public sealed record SaExpiry(SaId Id, uint ReqId, bool Hard);

/// <summary>A back-end refused an operation; the message says what is missing (algorithm, module, permission).</summary>
public sealed class SaBackendException(string message, int errno = 0) : Exception(message)
{
    public int Errno { get; } = errno;
}
