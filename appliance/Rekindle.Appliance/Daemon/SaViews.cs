using Rekindle.Appliance.ControlSocket;
using Rekindle.Control.Config;
using Rekindle.Control.Crypto;
using Rekindle.Control.Sa;

namespace Rekindle.Appliance.Daemon;

/// <summary>Turns engine state into the control socket's views, with strongSwan's names for states and algorithms.</summary>
public static class SaViews
{
    public static IkeSaView Of(IkeSa sa, DateTimeOffset now)
    {
        var suite = sa.Suite;
        return new IkeSaView(
            sa.Name, sa.UniqueId, State(sa.State), sa.IsOriginalInitiator, $"{sa.InitiatorSpi:x16}", $"{sa.ResponderSpi:x16}",
            sa.Local.Address.ToString(), sa.Local.Port, (sa.LocalId ?? sa.Config?.LocalId)?.ToString() ?? "",
            sa.Remote.Address.ToString(), sa.Remote.Port, (sa.RemoteId ?? sa.Config?.RemoteId)?.ToString() ?? "",
            suite == null ? null : AlgorithmNames.Encryption(suite.Cipher.Id, suite.Cipher.KeyBits).Split('-')[0],
            suite?.Cipher.KeyBits ?? 0,
            suite?.Integrity == null ? null : AlgorithmNames.Integrity(suite.Integrity.Id),
            suite == null ? null : AlgorithmNames.Prf(suite.Prf.Id),
            suite == null ? null : AlgorithmNames.Group(suite.Group),
            sa.LocalBehindNat, sa.RemoteBehindNat,
            (long)(now - sa.Created).TotalSeconds,
            sa.Established is { } established ? (long)(now - established).TotalSeconds : null,
            sa.Children.Select(c => Of(c, now)).ToList());
    }

    private static ChildSaView Of(ChildSa child, DateTimeOffset now) => new(
        child.Name, child.ReqId, "INSTALLED", "TUNNEL", child.UdpEncapsulation, "ESP",
        AlgorithmNames.Encryption(child.Suite.Cipher.Id, child.Suite.Cipher.KeyBits).Split('-')[0], child.Suite.Cipher.KeyBits,
        child.Suite.Integrity == null ? null : AlgorithmNames.Integrity(child.Suite.Integrity.Id), child.Suite.Esn,
        $"{child.InboundSpi:x8}", $"{child.OutboundSpi:x8}",
        child.LocalTs.Select(t => t.ToString()).ToList(), child.RemoteTs.Select(t => t.ToString()).ToList(),
        (long)(now - child.Installed).TotalSeconds);

    public static ConnectionView Of(ConnectionConfig c) => new(
        c.Name, c.LocalAddress?.ToString(), c.RemoteAddress?.ToString(), c.LocalId.ToString(), c.RemoteId.ToString(),
        string.Join(", ", c.IkeProposals.Select(Describe)), string.Join(", ", c.EspProposals.Select(Describe)), c.ChildName,
        c.LocalTs.Select(t => t.ToString()).ToList(), c.RemoteTs.Select(t => t.ToString()).ToList(), c.StartAction.ToString().ToLowerInvariant());

    private static string Describe(Control.Encoding.Payloads.Proposal p) => string.Join("/", p.Transforms);

    /// <summary>swanctl's state names.</summary>
    public static string State(IkeSaState state) => state switch
    {
        IkeSaState.Connecting or IkeSaState.Authenticating => "CONNECTING",
        IkeSaState.Established => "ESTABLISHED",
        IkeSaState.Deleting => "DELETING",
        _ => "DESTROYING",
    };
}
