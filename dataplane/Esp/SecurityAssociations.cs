using System.Net;
using Rekindle.Control.Kernel;

namespace Rekindle.Dataplane.Esp;

/// <summary>
/// Counters and lifetimes shared by both directions. Each SA is touched by one forwarding thread; other threads
/// only read its counters.
/// </summary>
public abstract class UserspaceSa(SaParameters parameters, long installedTicks) : IDisposable
{
    private long _packets, _bytes, _lastUsedTicks;
    private int _softRaised, _hardRaised;

    public SaParameters Parameters { get; } = parameters;
    public SaId Id => Parameters.Id;
    public uint Spi => Parameters.Id.Spi;
    public EspTransform Transform { get; } = new(parameters.Suite, parameters.EncryptionKey, parameters.IntegrityKey);
    public long InstalledTicks { get; } = installedTicks;

    public long Packets => Volatile.Read(ref _packets);
    public long Bytes => Volatile.Read(ref _bytes);
    /// <summary>Environment.TickCount64 of the last packet, 0 if none.</summary>
    public long LastUsedTicks => Volatile.Read(ref _lastUsedTicks);

    /// <summary>Counts one packet; returns a lifetime the packet crossed (soft or hard), if any.</summary>
    protected SaLifetimeEvent Count(int bytes)
    {
        long packets = ++_packets;
        long total = _bytes += bytes;
        Volatile.Write(ref _lastUsedTicks, Environment.TickCount64);
        var life = Parameters.Lifetime;
        if (life == null)
            return SaLifetimeEvent.None;
        if ((life.HardBytes != 0 && (ulong)total >= life.HardBytes || life.HardPackets != 0 && (ulong)packets >= life.HardPackets)
            && Interlocked.Exchange(ref _hardRaised, 1) == 0)
            return SaLifetimeEvent.Hard;
        if ((life.SoftBytes != 0 && (ulong)total >= life.SoftBytes || life.SoftPackets != 0 && (ulong)packets >= life.SoftPackets)
            && Interlocked.Exchange(ref _softRaised, 1) == 0)
            return SaLifetimeEvent.Soft;
        return SaLifetimeEvent.None;
    }

    /// <summary>Time-based lifetimes, checked by the back-end's timer.</summary>
    public SaLifetimeEvent CheckTime(long nowTicks)
    {
        var life = Parameters.Lifetime;
        if (life == null)
            return SaLifetimeEvent.None;
        var age = TimeSpan.FromMilliseconds(nowTicks - InstalledTicks);
        if (life.HardTime > TimeSpan.Zero && age >= life.HardTime && Interlocked.Exchange(ref _hardRaised, 1) == 0)
            return SaLifetimeEvent.Hard;
        if (life.SoftTime > TimeSpan.Zero && age >= life.SoftTime && Interlocked.Exchange(ref _softRaised, 1) == 0)
            return SaLifetimeEvent.Soft;
        return SaLifetimeEvent.None;
    }

    /// <summary>A hard lifetime was reached: no more packets may use the SA.</summary>
    public bool Expired => Volatile.Read(ref _hardRaised) != 0;

    public void Dispose() => Transform.Dispose();
}

public enum SaLifetimeEvent
{
    None,
    Soft,
    Hard,
}

/// <summary>An outbound SA: sequence numbers and the destination (UDP-encapsulated or raw ESP).</summary>
public sealed class OutboundSa(SaParameters parameters, long installedTicks) : UserspaceSa(parameters, installedTicks)
{
    private ulong _sequence;

    /// <summary>The peer as a sockaddr, prepared once: its NAT-T port, or port 0 for raw ESP.</summary>
    internal readonly Interop.Native.SockAddr UdpDestination = Interop.Native.SockAddr.From(parameters.Destination);
    internal readonly Interop.Native.SockAddr RawDestination = Interop.Native.SockAddr.From(new IPEndPoint(parameters.Destination.Address, 0));

    public IPEndPoint Destination => Parameters.Destination;
    public bool UdpEncapsulation => Parameters.UdpEncapsulation;

    /// <summary>The next sequence number; false once the counter would cycle (RFC 4303 §3.3.3: the SA must be rekeyed).</summary>
    public bool TryNextSequence(out ulong sequence)
    {
        sequence = ++_sequence;
        return Parameters.Suite.Esn ? sequence != 0 : sequence <= uint.MaxValue;
    }

    public SaLifetimeEvent CountSent(int bytes) => Count(bytes);
}

/// <summary>An inbound SA: the replay window, drop counters, and the selectors inner packets must match.</summary>
public sealed class InboundSa : UserspaceSa
{
    private long _replayDrops, _integrityFailures, _selectorDrops;

    public InboundSa(SaParameters parameters, long installedTicks) : base(parameters, installedTicks)
    {
        Replay = new ReplayWindow(Math.Max(64, (parameters.ReplayWindow + 63) / 64 * 64), parameters.Suite.Esn);
        LocalRanges = parameters.LocalTs.Select(t => new SelectorRange(t)).ToArray();
        RemoteRanges = parameters.RemoteTs.Select(t => new SelectorRange(t)).ToArray();
    }

    public ReplayWindow Replay { get; }
    public SelectorRange[] LocalRanges { get; }
    public SelectorRange[] RemoteRanges { get; }

    public long ReplayDrops => Volatile.Read(ref _replayDrops);
    public long IntegrityFailures => Volatile.Read(ref _integrityFailures);
    public long SelectorDrops => Volatile.Read(ref _selectorDrops);

    public void CountReplay() => Interlocked.Increment(ref _replayDrops);
    public void CountIntegrityFailure() => Interlocked.Increment(ref _integrityFailures);
    public void CountSelectorDrop() => Interlocked.Increment(ref _selectorDrops);
    public SaLifetimeEvent CountReceived(int bytes) => Count(bytes);

    /// <summary>RFC 4303 §5.2: the decrypted packet must match the SA's selectors (from the remote side to the local side).</summary>
    public bool Admits(in PacketSummary packet)
    {
        bool source = false, destination = false;
        foreach (ref readonly var range in RemoteRanges.AsSpan())
            source |= range.Matches(packet, source: true);
        foreach (ref readonly var range in LocalRanges.AsSpan())
            destination |= range.Matches(packet, source: false);
        return source && destination;
    }
}
