using System.Buffers.Binary;
using System.Net;
using Rekindle.Control.Engine;
using Rekindle.Dataplane.Esp;
using Rekindle.Dataplane.Interop;
using Rekindle.Dataplane.Offload;

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

    // Outbound state, touched only by the outbound thread.
    private PacketBuffers? _sendSlots, _udp, _rawSend;
    private int _used, _udpCount, _rawCount;
    private readonly int[] _rawFds = new int[SendSlots];
    private const int SendSlots = 256;

    private void Outbound()
    {
        // One large read buffer (a TSO segment can be 64 KB); each packet to send gets an MTU-sized slot with headroom.
        using var read = new PacketBuffers(1);
        using var slots = _sendSlots = new PacketBuffers(SendSlots, slotSize: 16384);
        using var udp = _udp = new PacketBuffers(SendSlots, withSlots: false);
        using var raw = _rawSend = new PacketBuffers(SendSlots, withSlots: false);
        int udpFd = _natT.Count > 0 ? _natT[0].Fd : -1;
        TcpSegmentation.SegmentSink emit = Encapsulate;
        bool idle = true;
        while (!_stop)
        {
            // Only an idle loop waits in poll; a busy one goes straight to the next read.
            if (idle && !Native.WaitReadable(_tun.Fd, PollMs))
                continue;
            _used = _udpCount = _rawCount = 0;
            int reads = 0;
            // Room for the largest segment's packets (64 KB / 536-octet MSS) must remain before each read.
            while (_used + 128 <= SendSlots)
            {
                var buffer = read.Slot(0);
                int length = Native.Read(_tun.Fd, buffer);
                if (length < 0)
                    break;
                reads++;
                if (!_tun.Offload)
                {
                    Encapsulate(buffer[..length]);
                    continue;
                }
                if (length < VirtioNetHeader.Size
                    || TcpSegmentation.Segment(VirtioNetHeader.Read(buffer), buffer[VirtioNetHeader.Size..length], emit) == 0)
                    Interlocked.Increment(ref _malformed);
            }
            idle = reads == 0;
            if (_udpCount > 0)
                Native.SendBatch(udpFd, udp.Messages, _udpCount);
            // Raw ESP: one sendmmsg per run of packets for the same socket.
            for (int first = 0; first < _rawCount;)
            {
                int last = first;
                while (last + 1 < _rawCount && _rawFds[last + 1] == _rawFds[first])
                    last++;
                Native.SendBatch(_rawFds[first], raw.Messages + first, last - first + 1);
                first = last + 1;
            }
        }
    }

    /// <summary>Finds the SA for one inner packet, seals it into the next send slot and queues it.</summary>
    private void Encapsulate(Span<byte> inner)
    {
        if (!PacketSummary.TryRead(inner, out var summary))
        {
            Interlocked.Increment(ref _malformed);
            return;
        }
        var sa = _database.FindOutbound(summary);
        if (sa == null || sa.Expired || !sa.TryNextSequence(out ulong sequence))
        {
            Interlocked.Increment(ref _noPolicy);
            return;
        }
        var slots = _sendSlots!;
        var transform = sa.Transform;
        if (PacketBuffers.Headroom + transform.SealedLength(inner.Length) > slots.SlotSize)
        {
            Interlocked.Increment(ref _malformed);
            return;
        }
        int slot = _used++;
        var buffer = slots.Slot(slot);
        inner.CopyTo(buffer[PacketBuffers.Headroom..]);
        int start = PacketBuffers.Headroom - transform.Headroom;
        int espLength = transform.Seal(buffer[start..], inner.Length, sa.Spi, sequence, summary.NextHeader);
        var life = sa.CountSent(inner.Length);
        if (life != SaLifetimeEvent.None)
            _lifetime(sa, life);
        byte* packet = slots.SlotPointer(slot) + start;
        if (sa.UdpEncapsulation && _natT.Count > 0)
            _udp!.ArmForSend(_udpCount++, packet, espLength, sa.UdpDestination);
        else if (_raw.TryGetValue(sa.Parameters.Source.Address, out int rawFd))
        {
            _rawFds[_rawCount] = rawFd;
            _rawSend!.ArmForSend(_rawCount++, packet, espLength, sa.RawDestination);
        }
    }

    private void Inbound(int fd, IPEndPoint local, bool encapsulated)
    {
        using var batch = new PacketBuffers(Batch);
        int tun = _tun.Fd;
        var coalescer = _tun.Offload ? new TcpCoalescer(packet => Native.Write(tun, packet)) : null;
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
                Receive(data, coalescer);
            }
            coalescer?.Flush();
        }
    }

    private void Receive(Span<byte> esp, TcpCoalescer? coalescer)
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
        if (coalescer != null)
            coalescer.Add(esp[..sa.Transform.Headroom], inner); // the ESP header and IV are free room for the virtio header
        else
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
