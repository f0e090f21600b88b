using System.Buffers.Binary;
using System.Net;
using Rekindle.Control.Engine;
using Rekindle.Dataplane.Esp;
using Rekindle.Dataplane.Interop;
using Rekindle.Dataplane.Offload;

namespace Rekindle.Dataplane;

/// <summary>
/// The forwarding threads. Outbound: read from the TUN device (cutting TSO segments into packets), find each packet's SA
/// by its selectors, seal it into a send slot and send the batch with one sendmmsg per socket (ESP-in-UDP on the NAT-T
/// socket of the SA's local address, or raw ESP).
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
    private readonly Dictionary<IPAddress, int> _udpByAddress;
    private readonly Action<byte[], IPEndPoint, IPEndPoint> _ike;
    private readonly Action<UserspaceSa, SaLifetimeEvent> _lifetime;
    private readonly ILog _log;
    private readonly List<Thread> _threads = [];
    private volatile bool _stop;
    private long _noPolicy, _noSocket, _unknownSpi, _malformed, _keepalives;

    /// <summary>A NAT-T (UDP 4500) socket shared with IKE: its local endpoint and fd.</summary>
    public sealed record NatTSocket(IPEndPoint Local, int Fd);

    public Forwarder(TunDevice tun, SaDatabase database, IReadOnlyList<NatTSocket> natT, IReadOnlyDictionary<IPAddress, int> raw,
        Action<byte[], IPEndPoint, IPEndPoint> ike, Action<UserspaceSa, SaLifetimeEvent> lifetime, ILog log)
    {
        _tun = tun;
        _database = database;
        _natT = natT;
        _raw = raw;
        _udpByAddress = natT.GroupBy(s => s.Local.Address).ToDictionary(g => g.Key, g => g.First().Fd);
        _ike = ike;
        _lifetime = lifetime;
        _log = log;
    }

    /// <summary>Packets from the TUN device that no outbound policy covers.</summary>
    public long NoPolicyDrops => Interlocked.Read(ref _noPolicy);
    /// <summary>Packets whose SA needs a socket this gateway did not open (no NAT-T or raw ESP socket on its address).</summary>
    public long NoSocketDrops => Interlocked.Read(ref _noSocket);
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
    private const int SendSlots = 256;
    private PacketBuffers? _sendSlots, _send;
    private int _queued;
    private readonly int[] _sendFds = new int[SendSlots];

    private void Outbound()
    {
        // One large read buffer (a TSO segment can be 64 KB); each packet to send gets an MTU-sized slot with headroom.
        using var read = new PacketBuffers(1);
        using var slots = _sendSlots = new PacketBuffers(SendSlots, slotSize: 16384);
        using var send = _send = new PacketBuffers(SendSlots, withSlots: false);
        TcpSegmentation.SegmentSink emit = Encapsulate;
        bool idle = true;
        while (!_stop)
        {
            // Only an idle loop waits in poll; a busy one goes straight to the next read.
            if (idle && !Native.WaitReadable(_tun.Fd, PollMs))
                continue;
            _queued = 0;
            int reads = 0;
            // Room for the largest segment's packets (64 KB / 536-octet MSS) must remain before each read.
            while (_queued + 128 <= SendSlots)
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
            // One sendmmsg per run of packets for the same socket.
            for (int first = 0; first < _queued;)
            {
                int last = first;
                while (last + 1 < _queued && _sendFds[last + 1] == _sendFds[first])
                    last++;
                Native.SendBatch(_sendFds[first], send.Messages + first, last - first + 1);
                first = last + 1;
            }
        }
    }

    /// <summary>Finds the SA and socket for one inner packet, seals it into the next send slot and queues it.</summary>
    private void Encapsulate(Span<byte> inner)
    {
        if (!PacketSummary.TryRead(inner, out var summary))
        {
            Interlocked.Increment(ref _malformed);
            return;
        }
        var sa = _database.FindOutbound(summary);
        if (sa == null || sa.Expired)
        {
            Interlocked.Increment(ref _noPolicy);
            return;
        }
        var sockets = sa.UdpEncapsulation ? _udpByAddress : _raw;
        var source = sa.Parameters.Source.Address;
        if (!sockets.TryGetValue(source, out int fd)
            && !sockets.TryGetValue(source.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, out fd))
        {
            Interlocked.Increment(ref _noSocket);
            return;
        }
        var slots = _sendSlots!;
        var transform = sa.Transform;
        if (PacketBuffers.Headroom + transform.SealedLength(inner.Length) > slots.SlotSize)
        {
            Interlocked.Increment(ref _malformed);
            return;
        }
        if (!sa.TryNextSequence(out ulong sequence))
        {
            Interlocked.Increment(ref _noPolicy);
            return;
        }
        int slot = _queued++;
        var buffer = slots.Slot(slot);
        inner.CopyTo(buffer[PacketBuffers.Headroom..]);
        int start = PacketBuffers.Headroom - transform.Headroom;
        int espLength = transform.Seal(buffer[start..], inner.Length, sa.Spi, sequence, summary.NextHeader);
        var life = sa.CountSent(inner.Length);
        if (life != SaLifetimeEvent.None)
            _lifetime(sa, life);
        _sendFds[slot] = fd;
        _send!.ArmForSend(slot, slots.SlotPointer(slot) + start, espLength, sa.UdpEncapsulation ? sa.UdpDestination : sa.RawDestination);
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
