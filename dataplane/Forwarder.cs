using System.Buffers.Binary;
using System.Net;
using Rekindle.Control.Engine;
using Rekindle.Dataplane.Esp;
using Rekindle.Dataplane.Interop;

namespace Rekindle.Dataplane;

/// <summary>
/// The forwarding threads. Outbound: read a batch from the TUN device, find each packet's SA by its selectors,
/// seal it in place and send the batch with one sendmmsg per transport (ESP-in-UDP on the NAT-T socket, raw ESP).
/// Inbound: recvmmsg a batch from the NAT-T socket (or the raw ESP socket), split IKE (non-ESP marker) and
/// keepalives from ESP, check replay, open in place, check the inner packet against the SA's selectors and write it
/// to the TUN device. One thread per direction and socket; each SA's state is touched by one thread only.
/// </summary>
public sealed unsafe class Forwarder : IDisposable
{
    private const int Batch = 64;
    private const int PollMs = 200;
    private readonly TunDevice _tun;
    private readonly SaDatabase _database;
    private readonly IReadOnlyList<NatTSocket> _natT;
    private readonly IReadOnlyDictionary<IPAddress, int> _raw;
    private readonly Action<byte[], IPEndPoint, IPEndPoint> _ike;
    private readonly Action<UserspaceSa, SaLifetimeEvent> _lifetime;
    private readonly ILog _log;
    private readonly List<Thread> _threads = [];
    private volatile bool _stop;
    private long _noPolicy, _unknownSpi, _malformed, _keepalives;

    /// <summary>A NAT-T (UDP 4500) socket shared with IKE: its local endpoint and fd.</summary>
    public sealed record NatTSocket(IPEndPoint Local, int Fd);

    public Forwarder(TunDevice tun, SaDatabase database, IReadOnlyList<NatTSocket> natT, IReadOnlyDictionary<IPAddress, int> raw,
        Action<byte[], IPEndPoint, IPEndPoint> ike, Action<UserspaceSa, SaLifetimeEvent> lifetime, ILog log)
    {
        _tun = tun;
        _database = database;
        _natT = natT;
        _raw = raw;
        _ike = ike;
        _lifetime = lifetime;
        _log = log;
    }

    /// <summary>Packets from the TUN device that no outbound policy covers.</summary>
    public long NoPolicyDrops => Interlocked.Read(ref _noPolicy);
    public long UnknownSpiDrops => Interlocked.Read(ref _unknownSpi);
    public long MalformedDrops => Interlocked.Read(ref _malformed);
    public long KeepalivesReceived => Interlocked.Read(ref _keepalives);

    public void Start()
    {
        Spawn("rekindle-out", Outbound);
        foreach (var socket in _natT)
            Spawn($"rekindle-in-udp", () => Inbound(socket.Fd, socket.Local, encapsulated: true));
        foreach (var (address, fd) in _raw)
            Spawn($"rekindle-in-esp", () => Inbound(fd, new IPEndPoint(address, 0), encapsulated: false));
    }

    private void Spawn(string name, Action loop)
    {
        var thread = new Thread(() =>
        {
            try
            {
                loop();
            }
            catch (Exception e) when (!_stop)
            {
                _log.Error("dataplane", $"{name} stopped: {e}");
            }
        }) { Name = name, IsBackground = true };
        _threads.Add(thread);
        thread.Start();
    }

    private void Outbound()
    {
        using var reads = new PacketBuffers(Batch);
        using var udp = new PacketBuffers(Batch, withSlots: false);
        using var raw = new PacketBuffers(Batch, withSlots: false);
        int udpFd = _natT.Count > 0 ? _natT[0].Fd : -1;
        var rawDestinations = new int[Batch];
        bool idle = true;
        while (!_stop)
        {
            // Only an idle loop waits in poll; a busy one goes straight to the next read.
            if (idle && !Native.WaitReadable(_tun.Fd, PollMs))
                continue;
            int udpCount = 0, rawCount = 0, read = 0;
            for (int slot = 0; slot < Batch; slot++)
            {
                var buffer = reads.Slot(slot);
                int length = Native.Read(_tun.Fd, buffer[PacketBuffers.Headroom..]);
                if (length < 0)
                    break;
                read++;
                var inner = buffer.Slice(PacketBuffers.Headroom, length);
                if (!PacketSummary.TryRead(inner, out var summary))
                {
                    Interlocked.Increment(ref _malformed);
                    continue;
                }
                var sa = _database.FindOutbound(summary);
                if (sa == null || sa.Expired || !sa.TryNextSequence(out ulong sequence))
                {
                    Interlocked.Increment(ref _noPolicy);
                    continue;
                }
                var transform = sa.Transform;
                int start = PacketBuffers.Headroom - transform.Headroom;
                int espLength = transform.Seal(buffer[start..], length, sa.Spi, sequence, summary.NextHeader);
                var life = sa.CountSent(length);
                if (life != SaLifetimeEvent.None)
                    _lifetime(sa, life);
                byte* packet = reads.SlotPointer(slot) + start;
                if (sa.UdpEncapsulation && udpFd >= 0)
                    udp.ArmForSend(udpCount++, packet, espLength, sa.UdpDestination);
                else if (_raw.TryGetValue(sa.Parameters.Source.Address, out int rawFd))
                {
                    rawDestinations[rawCount] = rawFd;
                    raw.ArmForSend(rawCount++, packet, espLength, sa.RawDestination);
                }
            }
            idle = read == 0;
            if (udpCount > 0)
                Native.SendBatch(udpFd, udp.Messages, udpCount);
            // Raw ESP: one sendmmsg per run of packets for the same socket.
            for (int first = 0; first < rawCount;)
            {
                int last = first;
                while (last + 1 < rawCount && rawDestinations[last + 1] == rawDestinations[first])
                    last++;
                Native.SendBatch(rawDestinations[first], raw.Messages + first, last - first + 1);
                first = last + 1;
            }
        }
    }

    private void Inbound(int fd, IPEndPoint local, bool encapsulated)
    {
        using var batch = new PacketBuffers(Batch);
        bool idle = true;
        while (!_stop)
        {
            if (idle && !Native.WaitReadable(fd, PollMs))
                continue;
            batch.ArmForReceive();
            int count = Native.ReceiveBatch(fd, batch.Messages, Batch);
            idle = count == 0;
            for (int i = 0; i < count; i++)
            {
                int length = (int)batch.Messages[i].Length;
                var data = batch.Slot(i).Slice(PacketBuffers.Headroom, length);
                if (encapsulated)
                {
                    if (length == 1 && data[0] == 0xFF)
                    {
                        Interlocked.Increment(ref _keepalives); // NAT-T keepalive (RFC 3948 §2.3)
                        continue;
                    }
                    if (length >= 4 && BinaryPrimitives.ReadUInt32BigEndian(data) == 0)
                    {
                        _ike(data[4..].ToArray(), local, batch.Addresses[i].ToEndPoint()); // non-ESP marker: IKE
                        continue;
                    }
                }
                else if (local.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                {
                    int headerLength = length > 0 ? (data[0] & 0x0F) * 4 : 0;
                    if (headerLength < 20 || headerLength > length)
                    {
                        Interlocked.Increment(ref _malformed);
                        continue;
                    }
                    data = data[headerLength..]; // IPv4 raw sockets deliver the IP header
                }
                Receive(data);
            }
        }
    }

    private void Receive(Span<byte> esp)
    {
        if (esp.Length < EspTransform.HeaderLength + 8 + 16)
        {
            Interlocked.Increment(ref _malformed);
            return;
        }
        var sa = _database.FindInbound(BinaryPrimitives.ReadUInt32BigEndian(esp));
        if (sa == null || sa.Expired)
        {
            Interlocked.Increment(ref _unknownSpi);
            return;
        }
        if (!sa.Replay.Check(BinaryPrimitives.ReadUInt32BigEndian(esp[4..]), out ulong sequence))
        {
            sa.CountReplay();
            return;
        }
        if (!sa.Transform.TryOpen(esp, sequence, out int innerLength, out byte nextHeader))
        {
            sa.CountIntegrityFailure();
            return;
        }
        sa.Replay.Update(sequence);
        if (nextHeader == 59)
            return; // a dummy packet (RFC 4303 §2.6)
        var inner = esp.Slice(sa.Transform.Headroom, innerLength);
        if (!PacketSummary.TryRead(inner, out var summary) || !sa.Admits(summary))
        {
            sa.CountSelectorDrop();
            return;
        }
        Native.Write(_tun.Fd, inner);
        var life = sa.CountReceived(innerLength);
        if (life != SaLifetimeEvent.None)
            _lifetime(sa, life);
    }

    public void Dispose()
    {
        _stop = true;
        foreach (var thread in _threads)
            thread.Join();
    }
}
