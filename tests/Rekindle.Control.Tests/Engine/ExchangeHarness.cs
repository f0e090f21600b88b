using System.Net;
using Rekindle.Control.Config;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Kernel;

namespace Rekindle.Control.Tests.Engine;

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock : TimeProvider
{
    private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>A datagram in flight between the two engines.</summary>
public sealed record Datagram(IPEndPoint From, IPEndPoint To, byte[] Data)
{
    public IkeHeader Header => IkeHeader.TryRead(Data, out var h) ? h : throw new InvalidOperationException("not IKE");
    public override string ToString() => $"{From} -> {To}: {Header.Exchange} {(Header.IsResponse ? "response" : "request")} {Header.MessageId}";
}

/// <summary>
/// Two engines in one process joined by a fake network that holds every datagram until the test delivers,
/// drops, duplicates or reorders it (as strongSwan's exchange_test_helper). Each side has its own fake SA back-end.
/// </summary>
public sealed class ExchangeHarness
{
    public static readonly IPAddress AddressA = IPAddress.Parse("192.0.2.1");
    public static readonly IPAddress AddressB = IPAddress.Parse("192.0.2.2");
    public const string Psk = "harness-psk-0123456789";

    public ManualClock Clock { get; } = new();
    public Action<string>? Trace { get; }
    public Side A { get; }
    public Side B { get; }

    public ExchangeHarness(string ikeProposals = "aes256gcm16-prfsha256-x25519", string espProposals = "aes256gcm16",
        Func<ConnectionConfig, ConnectionConfig>? tweakA = null, Func<ConnectionConfig, ConnectionConfig>? tweakB = null,
        EngineOptions? options = null, IPAddress? natAddressOfA = null, Action<string>? trace = null)
    {
        options ??= new EngineOptions { RetransmitTimeout = TimeSpan.FromSeconds(1), RetransmitTries = 3, CookieThreshold = 100 };
        var a = Connection("a-b", AddressA, AddressB, "gwa.test.example", "gwb.test.example", "10.1.0.0/24", "10.2.0.0/24", ikeProposals, espProposals);
        var b = Connection("b-a", AddressB, natAddressOfA == null ? AddressA : null, "gwb.test.example", "gwa.test.example", "10.2.0.0/24", "10.1.0.0/24", ikeProposals, espProposals);
        Trace = trace;
        A = new Side(this, "A", AddressA, tweakA?.Invoke(a) ?? a, options, natAddressOfA);
        B = new Side(this, "B", AddressB, tweakB?.Invoke(b) ?? b, options, null);
    }

    public static ConnectionConfig Connection(string name, IPAddress local, IPAddress? remote, string localId, string remoteId,
        string localTs, string remoteTs, string ike, string esp, string psk = Psk) => new()
    {
        Name = name,
        LocalAddress = local,
        RemoteAddress = remote,
        LocalId = Identity.Parse(localId),
        RemoteId = Identity.Parse(remoteId),
        Psk = System.Text.Encoding.UTF8.GetBytes(psk),
        IkeProposals = ProposalParser.ParseIke(ike),
        EspProposals = ProposalParser.ParseEsp(esp),
        LocalTs = [TrafficSelector.FromCidr(localTs)],
        RemoteTs = [TrafficSelector.FromCidr(remoteTs)],
    };

    public Side Peer(Side side) => side == A ? B : A;

    /// <summary>Delivers the oldest datagram <paramref name="from"/> sent, and returns it.</summary>
    public Datagram Deliver(Side from)
    {
        var datagram = from.Outbox.Dequeue();
        Peer(from).Receive(datagram);
        return datagram;
    }

    /// <summary>Delivers everything both sides send until the network is quiet.</summary>
    public int Run(int limit = 100)
    {
        int delivered = 0;
        while (A.Outbox.Count + B.Outbox.Count > 0)
        {
            if (++delivered > limit)
                throw new InvalidOperationException("exchange did not settle");
            if (A.Outbox.Count > 0)
                Deliver(A);
            if (B.Outbox.Count > 0)
                Deliver(B);
        }
        return delivered;
    }

    public void Tick(TimeSpan by)
    {
        Clock.Advance(by);
        A.Engine.OnTimer();
        B.Engine.OnTimer();
    }

    public sealed class Side : IIkeNetwork, ILog
    {
        private readonly ExchangeHarness _harness;
        private readonly IPAddress? _natAddress;

        internal Side(ExchangeHarness harness, string name, IPAddress address, ConnectionConfig config, EngineOptions options, IPAddress? natAddress)
        {
            _harness = harness;
            Name = name;
            Address = address;
            _natAddress = natAddress;
            Backend = new MemorySaBackend(name == "A" ? 0xa0000001u : 0xb0000001u);
            Engine = new IkeEngine([config], Backend, this, this, options, harness.Clock);
        }

        public string Name { get; }
        public IPAddress Address { get; }
        public MemorySaBackend Backend { get; }
        public IkeEngine Engine { get; }
        public Queue<Datagram> Outbox { get; } = new();
        public List<string> Log { get; } = [];

        public void Send(IPEndPoint local, IPEndPoint remote, byte[] message)
        {
            // A NAT in front of this side rewrites the source address and port.
            var from = _natAddress == null ? local : new IPEndPoint(_natAddress, local.Port + 10000);
            Outbox.Enqueue(new Datagram(from, remote, message));
        }

        public IPAddress LocalAddressFor(IPAddress remote) => Address;

        public List<(IPEndPoint From, IPEndPoint To)> Keepalives { get; } = [];

        public void SendKeepalive(IPEndPoint local, IPEndPoint remote) => Keepalives.Add((local, remote));

        internal void Receive(Datagram datagram)
        {
            var to = datagram.To;
            if (_natAddress != null)
            {
                if (!to.Address.Equals(_natAddress))
                    return;
                to = new IPEndPoint(Address, to.Port - 10000);
            }
            else if (!to.Address.Equals(Address))
            {
                return;
            }
            Engine.Receive(datagram.Data, to, datagram.From);
        }

        public void Write(LogLevel level, string source, string message)
        {
            Log.Add($"{level} {source} {message}");
            _harness.Trace?.Invoke($"{Name}: {level} {source} {message}");
        }

        public override string ToString() => Name;
    }
}
