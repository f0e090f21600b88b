using System.Buffers.Binary;
using System.Security.Cryptography;
using Rekindle.Control.Config;
using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Tasks;

/// <summary>
/// IKE_SA_INIT (RFC 7296 §1.2): proposals, key exchange and nonces, then SKEYSEED and the IKE SA keys.
/// The initiator follows a COOKIE (§2.6) or an INVALID_KE_PAYLOAD (§1.2) by sending the exchange again.
/// <code>
/// HDR, SAi1, KEi, Ni  --&gt;
///                &lt;--  HDR, SAr1, KEr, Nr, [CERTREQ]
/// </code>
/// </summary>
public sealed class IkeInit : IkeTask
{
    private const int NonceLength = 32;
    private KeyExchange? _keyExchange;
    private Proposal? _chosen;
    private byte[]? _cookie;

    public IkeInit(IkeSa sa, EngineContext context, bool initiator) : base(sa, context, initiator)
    {
        if (initiator)
        {
            var group = (DhGroup)sa.Config!.IkeProposals[0].Find(TransformType.KeyExchange)!.Value.Id;
            _keyExchange = KeyExchange.Create(group);
            sa.NonceI = RandomNumberGenerator.GetBytes(NonceLength);
        }
    }

    public override ExchangeType Exchange => ExchangeType.IkeSaInit;

    public override TaskResult Build(IkeMessage message)
    {
        if (Initiator)
        {
            if (_cookie != null)
                message.Add(new NotifyPayload(NotifyType.Cookie, _cookie)); // must come first (RFC 7296 §2.6)
            message.Add(new SaPayload(Sa.Config!.IkeProposals));
            message.Add(new KePayload(_keyExchange!.Group, _keyExchange.PublicKey));
            message.Add(new NoncePayload(Sa.NonceI));
        }
        else
        {
            message.Add(new SaPayload([_chosen!]));
            message.Add(new KePayload(_keyExchange!.Group, _keyExchange.PublicKey));
            message.Add(new NoncePayload(Sa.NonceR));
        }
        return TaskResult.Done;
    }

    public override TaskResult Process(IkeMessage message) => Initiator ? ProcessResponse(message) : ProcessRequest(message);

    private TaskResult ProcessRequest(IkeMessage request)
    {
        var sa = request.Get<SaPayload>();
        var ke = request.Get<KePayload>();
        var nonce = request.Get<NoncePayload>();
        if (sa == null || ke == null || nonce == null)
            return Fail("IKE_SA_INIT request without SA, KE or Nonce", NotifyType.InvalidSyntax);
        _chosen = ProposalSelector.Select(Sa.Config!.IkeProposals, sa.Proposals, ProtocolId.Ike);
        if (_chosen == null)
            return Fail($"no acceptable proposal among {Describe(sa.Proposals)}; configured {Describe(Sa.Config.IkeProposals)}", NotifyType.NoProposalChosen);
        var group = (DhGroup)_chosen.Find(TransformType.KeyExchange)!.Value.Id;
        if (ke.Group != group)
        {
            var data = new byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)group);
            return Fail($"peer sent KE for {AlgorithmNames.Group(ke.Group)}, requesting {AlgorithmNames.Group(group)}", NotifyType.InvalidKePayload, data);
        }
        _keyExchange = KeyExchange.Create(group);
        Sa.NonceI = nonce.Data;
        Sa.NonceR = RandomNumberGenerator.GetBytes(NonceLength);
        return DeriveKeys(ke) ? TaskResult.Done : Fail("invalid KE payload value", NotifyType.InvalidSyntax);
    }

    private TaskResult ProcessResponse(IkeMessage response)
    {
        if (response.GetNotify(NotifyType.Cookie) is { } cookie)
        {
            if (_cookie != null && cookie.Data.AsSpan().SequenceEqual(_cookie))
                return Fail("responder keeps asking for the same COOKIE");
            _cookie = cookie.Data;
            Context.Log.Info(Sa, "responder requested a COOKIE, retrying IKE_SA_INIT");
            return TaskResult.Retry;
        }
        if (response.GetNotify(NotifyType.InvalidKePayload) is { Data.Length: 2 } invalidKe)
        {
            var group = (DhGroup)BinaryPrimitives.ReadUInt16BigEndian(invalidKe.Data);
            bool offered = Sa.Config!.IkeProposals.Any(p => p.All(TransformType.KeyExchange).Any(t => t.Id == (ushort)group));
            if (!offered || group == _keyExchange!.Group || !KeyExchange.IsSupported(group))
                return Fail($"responder asked for key exchange group {AlgorithmNames.Group(group)}, which was not offered");
            Context.Log.Info(Sa, $"responder requested {AlgorithmNames.Group(group)}, retrying IKE_SA_INIT");
            _keyExchange.Dispose();
            _keyExchange = KeyExchange.Create(group);
            return TaskResult.Retry;
        }
        if (response.Error is { } error)
            return Fail($"peer answered IKE_SA_INIT with {error.NotifyType}");
        var sa = response.Get<SaPayload>();
        var ke = response.Get<KePayload>();
        var nonce = response.Get<NoncePayload>();
        if (sa == null || ke == null || nonce == null || response.ResponderSpi == 0)
            return Fail("IKE_SA_INIT response without SA, KE, Nonce or responder SPI");
        if (sa.Proposals.Count != 1 || !ProposalSelector.IsAcceptableChoice(Sa.Config!.IkeProposals, sa.Proposals[0]))
            return Fail("responder chose a proposal we did not offer");
        _chosen = sa.Proposals[0];
        if (ke.Group != _keyExchange!.Group || (ushort)ke.Group != _chosen.Find(TransformType.KeyExchange)?.Id)
            return Fail("responder's KE group does not match the chosen proposal");
        Sa.ResponderSpi = response.ResponderSpi;
        Sa.NonceR = nonce.Data;
        return DeriveKeys(ke) ? TaskResult.Done : Fail("invalid KE payload value from responder");
    }

    private bool DeriveKeys(KePayload peer)
    {
        var shared = _keyExchange!.ComputeSharedSecret(peer.Data);
        _keyExchange.Dispose();
        if (shared == null)
            return false;
        var suite = IkeCryptoSuite.FromProposal(_chosen!);
        var skeyseed = KeyDerivation.SkeySeed(suite.Prf, Sa.NonceI, Sa.NonceR, shared);
        var keys = KeyDerivation.DeriveIkeKeys(suite, skeyseed, Sa.NonceI, Sa.NonceR, Sa.InitiatorSpi, Sa.ResponderSpi);
        CryptographicOperations.ZeroMemory(shared);
        CryptographicOperations.ZeroMemory(skeyseed);
        Sa.Proposal = _chosen;
        Sa.Suite = suite;
        Sa.Keys = keys;
        Sa.Protection = SkProtection.ForRole(suite, keys, Sa.IsOriginalInitiator);
        Sa.State = IkeSaState.Authenticating;
        return true;
    }

    private static string Describe(IEnumerable<Proposal> proposals) =>
        string.Join(", ", proposals.Select(p => string.Join("/", p.Transforms)));
}
