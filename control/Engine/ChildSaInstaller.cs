using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Kernel;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Engine;

/// <summary>Puts a negotiated CHILD SA into the back-end (both SAs and the in/out/fwd policies) and takes it out again.</summary>
public static class ChildSaInstaller
{
    public sealed record Negotiated(string Name, Proposal Proposal, uint InboundSpi, uint OutboundSpi,
        IReadOnlyList<TrafficSelector> LocalTs, IReadOnlyList<TrafficSelector> RemoteTs, byte[] NonceI, byte[] NonceR);

    /// <summary>Derives KEYMAT (RFC 7296 §2.17) and installs; on a back-end error removes what it added and rethrows.</summary>
    public static ChildSa Install(EngineContext context, IkeSa sa, Negotiated child)
    {
        var suite = ChildCryptoSuite.FromProposal(child.Proposal);
        var keymat = KeyDerivation.ChildKeyMaterial(sa.Suite!.Prf, sa.Keys!.SkD, child.NonceI, child.NonceR, 2 * suite.KeyMaterialPerDirection);
        var keys = ChildKeys.Split(suite, keymat);
        bool initiator = sa.IsOriginalInitiator;
        var (inEnc, inInteg) = initiator ? (keys.EncryptionRi, keys.IntegrityRi) : (keys.EncryptionIr, keys.IntegrityIr);
        var (outEnc, outInteg) = initiator ? (keys.EncryptionIr, keys.IntegrityIr) : (keys.EncryptionRi, keys.IntegrityRi);
        uint reqId = context.NextReqId();
        var result = new ChildSa
        {
            Name = child.Name,
            ReqId = reqId,
            InboundSpi = child.InboundSpi,
            OutboundSpi = child.OutboundSpi,
            Suite = suite,
            LocalTs = child.LocalTs,
            RemoteTs = child.RemoteTs,
            UdpEncapsulation = sa.UdpEncapsulation,
            Installed = context.Now,
            InboundId = new SaId(sa.Local.Address, child.InboundSpi),
            OutboundId = new SaId(sa.Remote.Address, child.OutboundSpi),
            Keys = new ChildSaKeys(inEnc, inInteg, outEnc, outInteg),
        };
        var backend = context.Backend;
        var added = new List<SaId>();
        try
        {
            backend.AddSa(new SaParameters(result.InboundId, SaDirection.Inbound, sa.Remote, sa.Local, suite, inEnc, inInteg,
                child.LocalTs, child.RemoteTs, sa.UdpEncapsulation, reqId, Lifetime: sa.Config?.ChildLifetime, Mark: sa.Config?.MarkIn));
            added.Add(result.InboundId);
            backend.AddSa(new SaParameters(result.OutboundId, SaDirection.Outbound, sa.Local, sa.Remote, suite, outEnc, outInteg,
                child.LocalTs, child.RemoteTs, sa.UdpEncapsulation, reqId, Lifetime: sa.Config?.ChildLifetime, Mark: sa.Config?.MarkOut));
            added.Add(result.OutboundId);
            foreach (var local in child.LocalTs)
            {
                foreach (var remote in child.RemoteTs.Where(r => r.TsType == local.TsType)) // IPv4 with IPv4, IPv6 with IPv6
                {
                    foreach (var policy in new[]
                    {
                        new PolicyParameters(PolicyDirection.Out, local, remote, sa.Local.Address, sa.Remote.Address, reqId, Mark: sa.Config?.MarkOut),
                        new PolicyParameters(PolicyDirection.In, remote, local, sa.Remote.Address, sa.Local.Address, reqId, Mark: sa.Config?.MarkIn),
                        new PolicyParameters(PolicyDirection.Forward, remote, local, sa.Remote.Address, sa.Local.Address, reqId, Mark: sa.Config?.MarkIn),
                    })
                    {
                        backend.AddPolicy(policy);
                        result.Policies.Add(policy);
                    }
                }
            }
        }
        catch (SaBackendException)
        {
            foreach (var policy in result.Policies)
                backend.DeletePolicy(policy);
            foreach (var id in added)
                backend.DeleteSa(id);
            throw;
        }
        sa.Children.Add(result);
        context.Log.Info(sa, $"CHILD_SA {result.Name}{{{reqId}}} established with SPIs {result.InboundSpi:x8}_i {result.OutboundSpi:x8}_o " +
            $"and TS {string.Join(" ", result.LocalTs)} === {string.Join(" ", result.RemoteTs)} ({suite}{(sa.UdpEncapsulation ? ", UDP-encapsulated" : "")})");
        return result;
    }

    public static void Uninstall(EngineContext context, IkeSa sa, ChildSa child)
    {
        var backend = context.Backend;
        foreach (var policy in child.Policies)
            Try(context, sa, () => backend.DeletePolicy(policy));
        Try(context, sa, () => backend.DeleteSa(child.InboundId));
        Try(context, sa, () => backend.DeleteSa(child.OutboundId));
        sa.Children.Remove(child);
        context.Log.Info(sa, $"CHILD_SA {child.Name}{{{child.ReqId}}} with SPIs {child.InboundSpi:x8}_i {child.OutboundSpi:x8}_o removed");
    }

    private static void Try(EngineContext context, IkeSa sa, Action action)
    {
        try
        {
            action();
        }
        catch (SaBackendException e)
        {
            context.Log.Error(sa, $"removing CHILD_SA state failed: {e.Message}");
        }
    }
}
