using System.Net;
using Rekindle.Control.Config;
using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;

namespace Rekindle.Control.Sa;

public enum IkeSaState
{
    /// <summary>IKE_SA_INIT under way.</summary>
    Connecting,
    /// <summary>IKE_SA_INIT done, IKE_AUTH under way.</summary>
    Authenticating,
    Established,
    Deleting,
    Destroyed,
}

/// <summary>
/// The state of one IKE SA: SPIs, keys, peer, message IDs and its CHILD SAs. Behaviour lives in the tasks that
/// its <see cref="TaskManager"/> runs; the engine hands it one event at a time.
/// </summary>
public sealed class IkeSa
{
    internal IkeSa(int uniqueId, bool originalInitiator, ulong initiatorSpi, IPEndPoint local, IPEndPoint remote, DateTimeOffset now)
    {
        UniqueId = uniqueId;
        IsOriginalInitiator = originalInitiator;
        InitiatorSpi = initiatorSpi;
        Local = local;
        Remote = remote;
        Created = now;
        LastInbound = now;
        Tasks = new TaskManager(this);
    }

    public int UniqueId { get; }
    public bool IsOriginalInitiator { get; }
    public ConnectionConfig? Config { get; internal set; }
    public string Name => Config?.Name ?? "%any";

    public ulong InitiatorSpi { get; internal set; }
    public ulong ResponderSpi { get; internal set; }
    public ulong LocalSpi => IsOriginalInitiator ? InitiatorSpi : ResponderSpi;

    public IkeSaState State { get; internal set; } = IkeSaState.Connecting;

    public IPEndPoint Local { get; internal set; }
    public IPEndPoint Remote { get; internal set; }
    public bool LocalBehindNat { get; internal set; }
    public bool RemoteBehindNat { get; internal set; }
    /// <summary>IKE and ESP use port 4500 with UDP encapsulation (RFC 3948).</summary>
    public bool UdpEncapsulation => LocalBehindNat || RemoteBehindNat;

    public Proposal? Proposal { get; internal set; }
    public IkeCryptoSuite? Suite { get; internal set; }
    /// <summary>The IKE SA's keys; exported only for packet-capture debugging (rekindlectl keys).</summary>
    public IkeKeys? Keys { get; internal set; }
    internal SkProtection? Protection { get; set; }

    internal byte[] NonceI { get; set; } = [];
    internal byte[] NonceR { get; set; } = [];
    /// <summary>The IKE_SA_INIT request and response as sent, signed by AUTH (RFC 7296 §2.15).</summary>
    internal byte[] InitRequest { get; set; } = [];
    internal byte[] InitResponse { get; set; } = [];

    public Identity? LocalId { get; internal set; }
    public Identity? RemoteId { get; internal set; }

    public List<ChildSa> Children { get; } = [];

    public DateTimeOffset Created { get; }
    public DateTimeOffset? Established { get; internal set; }
    /// <summary>When the peer last sent us a valid IKE message.</summary>
    public DateTimeOffset LastInbound { get; internal set; }
    /// <summary>When we last sent the peer an IKE message or keepalive.</summary>
    public DateTimeOffset LastOutbound { get; internal set; }

    /// <summary>Why the SA failed or was deleted, for logs and <c>list-sas</c>.</summary>
    public string? Reason { get; internal set; }

    public TaskManager Tasks { get; }

    /// <summary>Message ID of our next request (RFC 7296 §2.2).</summary>
    internal uint NextRequestId { get; set; }
    /// <summary>Message ID we expect on the peer's next request.</summary>
    internal uint ExpectedPeerRequestId { get; set; }
    /// <summary>Our last response, resent when its request is retransmitted.</summary>
    internal byte[]? CachedResponse { get; set; }

    /// <summary>A message of this IKE SA: its SPIs, and the Initiator flag when we are the original initiator.</summary>
    internal IkeMessage NewMessage(ExchangeType exchange, bool response, uint messageId) => new()
    {
        InitiatorSpi = InitiatorSpi,
        ResponderSpi = ResponderSpi,
        Exchange = exchange,
        IsResponse = response,
        FromInitiator = IsOriginalInitiator,
        MessageId = messageId,
    };

    public override string ToString() => $"{Name}[{UniqueId}]";
}
