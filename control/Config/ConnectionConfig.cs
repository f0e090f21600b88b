using System.Net;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Config;

public enum StartAction
{
    /// <summary>Wait for the peer to initiate.</summary>
    Listen,
    /// <summary>Initiate when the daemon starts.</summary>
    Initiate,
    /// <summary>Install a trap policy; traffic that hits it starts the negotiation (XFRM ACQUIRE).</summary>
    Trap,
}

/// <summary>One configured connection: an IKE SA template and the CHILD SA it carries.</summary>
public sealed record ConnectionConfig
{
    public required string Name { get; init; }
    /// <summary>Local address; null means any (chosen by routing).</summary>
    public IPAddress? LocalAddress { get; init; }
    /// <summary>Remote address; null means any peer may connect (responder only).</summary>
    public IPAddress? RemoteAddress { get; init; }
    public required Identity LocalId { get; init; }
    public required Identity RemoteId { get; init; }
    public required byte[] Psk { get; init; }
    public required IReadOnlyList<Proposal> IkeProposals { get; init; }
    public required IReadOnlyList<Proposal> EspProposals { get; init; }
    public string ChildName { get; init; } = "net";
    public required IReadOnlyList<TrafficSelector> LocalTs { get; init; }
    public required IReadOnlyList<TrafficSelector> RemoteTs { get; init; }
    public StartAction StartAction { get; init; } = StartAction.Listen;
    /// <summary>Force UDP encapsulation by faking NAT detection, as strongSwan's <c>encap = yes</c>.</summary>
    public bool ForceEncap { get; init; }
    /// <summary>Send a liveness check after this much silence from the peer; zero disables it.</summary>
    public TimeSpan DpdDelay { get; init; }
    /// <summary>Soft (rekey) and hard (delete) limits of the CHILD SAs; null: unlimited.</summary>
    public Kernel.SaLifetime? ChildLifetime { get; init; }
    /// <summary>XFRM marks of the inbound and outbound SAs and policies (strongSwan's mark_in / mark_out).</summary>
    public Kernel.XfrmMark? MarkIn { get; init; }
    public Kernel.XfrmMark? MarkOut { get; init; }

    public bool MatchesAddresses(IPAddress local, IPAddress remote) =>
        (LocalAddress == null || LocalAddress.Equals(local)) && (RemoteAddress == null || RemoteAddress.Equals(remote));
}
