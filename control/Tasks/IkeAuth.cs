using System.Security.Cryptography;
using Rekindle.Control.Config;
using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Tasks;

/// <summary>
/// IKE_AUTH with a pre-shared key (RFC 7296 §1.2, §2.15): identities and AUTH over the IKE_SA_INIT messages.
/// <code>
/// HDR, SK {IDi, [IDr,] AUTH, ...}  --&gt;
///                             &lt;--  HDR, SK {IDr, AUTH, ...}
/// </code>
/// </summary>
public sealed class IkeAuth(IkeSa sa, EngineContext context, bool initiator) : IkeTask(sa, context, initiator)
{
    public override ExchangeType Exchange => ExchangeType.IkeAuth;

    public override TaskResult Build(IkeMessage message)
    {
        var config = Sa.Config!;
        var id = new IdPayload(Initiator, config.LocalId.Type, config.LocalId.Data);
        message.Add(id);
        if (Initiator)
            message.Add(new IdPayload(false, config.RemoteId.Type, config.RemoteId.Data));
        message.Add(new AuthPayload(AuthMethod.SharedKeyMic, ComputeAuth(config.Psk, id, local: true)));
        return TaskResult.Done;
    }

    public override TaskResult Process(IkeMessage message) => Initiator ? ProcessResponse(message) : ProcessRequest(message);

    private TaskResult ProcessRequest(IkeMessage request)
    {
        var idi = request.Get<IdPayload>();
        var auth = request.Get<AuthPayload>();
        if (idi is not { Initiator: true } || auth == null)
            return Fail("IKE_AUTH request without IDi or AUTH (EAP is not supported)", NotifyType.AuthenticationFailed);
        var peerId = new Identity(idi.IdType, idi.Data);
        var idr = request.GetAll<IdPayload>().FirstOrDefault(i => !i.Initiator);
        Identity? wanted = idr == null ? null : new Identity(idr.IdType, idr.Data);
        var config = Context.Connections.FirstOrDefault(c =>
            c.MatchesAddresses(Sa.Local.Address, Sa.Remote.Address) && c.RemoteId.Equals(peerId) && (wanted == null || c.LocalId.Equals(wanted)));
        if (config == null)
            return Fail($"no connection for peer identity '{peerId}'{(wanted == null ? "" : $" asking for '{wanted}'")}", NotifyType.AuthenticationFailed);
        Sa.Config = config;
        if (auth.Method != AuthMethod.SharedKeyMic)
            return Fail($"peer '{peerId}' uses authentication method {auth.Method}, configured PSK", NotifyType.AuthenticationFailed);
        if (!CryptographicOperations.FixedTimeEquals(auth.Data, ComputeAuth(config.Psk, idi, local: false)))
            return Fail($"PSK authentication of '{peerId}' failed: AUTH payload mismatch", NotifyType.AuthenticationFailed);
        Authenticated(peerId);
        return TaskResult.Done;
    }

    private TaskResult ProcessResponse(IkeMessage response)
    {
        var idr = response.GetAll<IdPayload>().FirstOrDefault(i => !i.Initiator);
        var auth = response.Get<AuthPayload>();
        // An error next to IDr and AUTH concerns the CHILD SA only (RFC 7296 §2.21.2).
        if (idr == null || auth == null)
            return Fail(response.Error is { } error ? $"peer answered IKE_AUTH with {error.NotifyType}" : "IKE_AUTH response without IDr or AUTH");
        var peerId = new Identity(idr.IdType, idr.Data);
        if (!peerId.Equals(Sa.Config!.RemoteId))
            return Fail($"peer identity '{peerId}' does not match configured '{Sa.Config.RemoteId}'");
        if (auth.Method != AuthMethod.SharedKeyMic || !CryptographicOperations.FixedTimeEquals(auth.Data, ComputeAuth(Sa.Config.Psk, idr, local: false)))
            return Fail($"PSK authentication of '{peerId}' failed: AUTH payload mismatch");
        Authenticated(peerId);
        return TaskResult.Done;
    }

    private void Authenticated(Identity peerId)
    {
        Sa.LocalId = Sa.Config!.LocalId;
        Sa.RemoteId = peerId;
        Sa.State = IkeSaState.Established;
        Sa.Established = Context.Now;
        Context.Log.Info(Sa, $"authentication of '{peerId}' with pre-shared key successful");
        Context.OnEstablished(Sa);
    }

    /// <summary>
    /// The AUTH value one side sends (RFC 7296 §2.15): over its own IKE_SA_INIT message, the peer's nonce and
    /// prf(SK_p of that side, its ID payload body).
    /// </summary>
    private byte[] ComputeAuth(byte[] psk, IdPayload id, bool local)
    {
        bool byInitiator = local == Sa.IsOriginalInitiator;
        var keys = Sa.Keys!;
        var prf = Sa.Suite!.Prf;
        var octets = byInitiator
            ? KeyDerivation.SignedOctets(prf, Sa.InitRequest, Sa.NonceR, keys.SkPi, id.BodyBytes())
            : KeyDerivation.SignedOctets(prf, Sa.InitResponse, Sa.NonceI, keys.SkPr, id.BodyBytes());
        return KeyDerivation.PskAuth(prf, psk, octets);
    }
}
