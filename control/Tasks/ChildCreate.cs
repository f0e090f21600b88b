using System.Security.Cryptography;
using Rekindle.Control.Config;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Kernel;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Tasks;

/// <summary>
/// Creates a CHILD SA (ESP, tunnel mode): piggybacked on IKE_AUTH for the first one, or its own CREATE_CHILD_SA
/// exchange with fresh nonces (RFC 7296 §1.3.1; no PFS yet). The responder narrows traffic selectors (§2.9) and
/// answers NO_PROPOSAL_CHOSEN or TS_UNACCEPTABLE while the IKE SA stays.
/// <code>
/// SA, TSi, TSr  --&gt;   (IKE_AUTH)      HDR, SK {SA, Ni, TSi, TSr}  --&gt;   (CREATE_CHILD_SA)
///         &lt;--  SA, TSi, TSr                            &lt;--  HDR, SK {SA, Nr, TSi, TSr}
/// </code>
/// </summary>
public sealed class ChildCreate(IkeSa sa, EngineContext context, bool initiator, ExchangeType exchange) : IkeTask(sa, context, initiator)
{
    private uint _inboundSpi;
    private Proposal? _chosen;
    private IReadOnlyList<TrafficSelector>? _tsi, _tsr;
    private NotifyType? _error;
    private byte[]? _nonceI, _nonceR;
    private bool _skipped;

    public override ExchangeType Exchange { get; } = exchange;

    /// <summary>The CHILD SA, once installed.</summary>
    public ChildSa? Child { get; private set; }

    public override TaskResult Build(IkeMessage message) => Initiator ? BuildRequest(message) : BuildResponse(message);

    public override TaskResult Process(IkeMessage message) => Initiator ? ProcessResponse(message) : ProcessRequest(message);

    private TaskResult BuildRequest(IkeMessage request)
    {
        var config = Sa.Config!;
        if (_inboundSpi == 0)
            _inboundSpi = Context.Backend.AllocateSpi(Sa.Remote.Address, Sa.Local.Address, ProtocolId.Esp);
        var spi = BitConverterBigEndian(_inboundSpi);
        var proposals = config.EspProposals.Select(p => ProposalParser.WithoutKeyExchange(p) with { Spi = spi }).ToList();
        request.Add(new SaPayload(proposals));
        if (Exchange == ExchangeType.CreateChildSa)
        {
            _nonceI = RandomNumberGenerator.GetBytes(32);
            request.Add(new NoncePayload(_nonceI));
        }
        request.Add(new TsPayload(true, config.LocalTs));
        request.Add(new TsPayload(false, config.RemoteTs));
        return TaskResult.Done;
    }

    private TaskResult ProcessResponse(IkeMessage response)
    {
        var config = Sa.Config!;
        if (Sa.State != IkeSaState.Established)
            return ReleaseSpi(); // IKE_AUTH failed; the IKE SA goes, and this child with it
        if (response.Error is { } error)
        {
            Context.Log.Warning(Sa, $"CHILD_SA {config.ChildName} not established: peer answered {error.NotifyType}");
            return ReleaseSpi();
        }
        var sa = response.Get<SaPayload>();
        var tsi = response.Get<TsPayload>() is { Initiator: true } i ? i : null;
        var tsr = response.GetAll<TsPayload>().FirstOrDefault(t => !t.Initiator);
        var nonce = response.Get<NoncePayload>();
        string? problem = null;
        if (sa == null || tsi == null || tsr == null || (Exchange == ExchangeType.CreateChildSa && nonce == null))
            problem = "response without SA, TSi or TSr";
        else if (sa.Proposals.Count != 1 || sa.Proposals[0].Spi.Length != 4
            || !ProposalSelector.IsAcceptableChoice(config.EspProposals.Select(ProposalParser.WithoutKeyExchange).ToList(), sa.Proposals[0] with { Spi = [] }))
            problem = "peer chose an ESP proposal we did not offer";
        else if (!IsNarrowing(tsi.Selectors, config.LocalTs) || !IsNarrowing(tsr.Selectors, config.RemoteTs))
            problem = $"peer's traffic selectors {string.Join(" ", tsi.Selectors)} === {string.Join(" ", tsr.Selectors)} are not within ours";
        if (problem != null)
        {
            Context.Log.Warning(Sa, $"CHILD_SA {config.ChildName} not established: {problem}");
            return ReleaseSpi();
        }
        var (nonceI, nonceR) = Exchange == ExchangeType.CreateChildSa ? (_nonceI!, nonce!.Data) : (Sa.NonceI, Sa.NonceR);
        try
        {
            Child = ChildSaInstaller.Install(Context, Sa, new ChildSaInstaller.Negotiated(config.ChildName, sa!.Proposals[0], _inboundSpi,
                ReadSpi(sa.Proposals[0].Spi), tsi!.Selectors, tsr!.Selectors, nonceI, nonceR));
        }
        catch (SaBackendException e)
        {
            Context.Log.Error(Sa, $"CHILD_SA {config.ChildName} not installed: {e.Message}");
            return ReleaseSpi();
        }
        return TaskResult.Done;
    }

    private TaskResult ProcessRequest(IkeMessage request)
    {
        if (Sa.State != IkeSaState.Established)
        {
            _skipped = true;
            return TaskResult.Done;
        }
        var config = Sa.Config!;
        var sa = request.Get<SaPayload>();
        var tsi = request.GetAll<TsPayload>().FirstOrDefault(t => t.Initiator);
        var tsr = request.GetAll<TsPayload>().FirstOrDefault(t => !t.Initiator);
        var nonce = request.Get<NoncePayload>();
        if (sa == null || tsi == null || tsr == null)
        {
            _skipped = Exchange == ExchangeType.IkeAuth; // childless IKE_AUTH
            _error = _skipped ? null : NotifyType.InvalidSyntax;
            return TaskResult.Done;
        }
        if (Exchange == ExchangeType.CreateChildSa && (nonce == null || request.Get<KePayload>() != null))
        {
            Context.Log.Warning(Sa, "CREATE_CHILD_SA with PFS is not supported yet");
            _error = NotifyType.NoProposalChosen;
            return TaskResult.Done;
        }
        _chosen = ProposalSelector.Select(config.EspProposals.Select(ProposalParser.WithoutKeyExchange).ToList(), sa.Proposals, ProtocolId.Esp);
        if (_chosen == null || _chosen.Spi.Length != 4)
        {
            Context.Log.Warning(Sa, $"CHILD_SA {config.ChildName}: no acceptable ESP proposal");
            _error = NotifyType.NoProposalChosen;
            return TaskResult.Done;
        }
        _tsi = Narrow(tsi.Selectors, config.RemoteTs);
        _tsr = Narrow(tsr.Selectors, config.LocalTs);
        if (_tsi.Count == 0 || _tsr.Count == 0)
        {
            Context.Log.Warning(Sa, $"CHILD_SA {config.ChildName}: traffic selectors {string.Join(" ", tsi.Selectors)} === {string.Join(" ", tsr.Selectors)} unacceptable");
            _error = NotifyType.TsUnacceptable;
            return TaskResult.Done;
        }
        _nonceI = Exchange == ExchangeType.CreateChildSa ? nonce!.Data : Sa.NonceI;
        _nonceR = Exchange == ExchangeType.CreateChildSa ? RandomNumberGenerator.GetBytes(32) : Sa.NonceR;
        try
        {
            _inboundSpi = Context.Backend.AllocateSpi(Sa.Remote.Address, Sa.Local.Address, ProtocolId.Esp);
            Child = ChildSaInstaller.Install(Context, Sa, new ChildSaInstaller.Negotiated(config.ChildName, _chosen, _inboundSpi,
                ReadSpi(_chosen.Spi), _tsr, _tsi, _nonceI, _nonceR));
        }
        catch (SaBackendException e)
        {
            Context.Log.Error(Sa, $"CHILD_SA {config.ChildName} not installed: {e.Message}");
            if (_inboundSpi != 0)
                Context.Backend.DeleteSa(new SaId(Sa.Local.Address, _inboundSpi));
            _error = NotifyType.NoProposalChosen;
        }
        return TaskResult.Done;
    }

    private TaskResult BuildResponse(IkeMessage response)
    {
        if (_skipped)
            return TaskResult.Done;
        if (_error is { } error)
        {
            response.Add(new NotifyPayload(error));
            return TaskResult.Done;
        }
        response.Add(new SaPayload([_chosen! with { Spi = BitConverterBigEndian(_inboundSpi) }]));
        if (Exchange == ExchangeType.CreateChildSa)
            response.Add(new NoncePayload(_nonceR!));
        response.Add(new TsPayload(true, _tsi!));
        response.Add(new TsPayload(false, _tsr!));
        return TaskResult.Done;
    }

    private TaskResult ReleaseSpi()
    {
        if (_inboundSpi != 0)
            Context.Backend.DeleteSa(new SaId(Sa.Local.Address, _inboundSpi));
        return TaskResult.Done;
    }

    /// <summary>Every offered selector cut down to what we allow (RFC 7296 §2.9).</summary>
    private static List<TrafficSelector> Narrow(IEnumerable<TrafficSelector> offered, IEnumerable<TrafficSelector> allowed) =>
        offered.SelectMany(o => allowed.Select(o.Intersect)).OfType<TrafficSelector>().Distinct().ToList();

    private static bool IsNarrowing(IEnumerable<TrafficSelector> chosen, IReadOnlyList<TrafficSelector> offered) =>
        chosen.All(c => offered.Any(o => c.Intersect(o) == c));

    private static byte[] BitConverterBigEndian(uint spi) => [(byte)(spi >> 24), (byte)(spi >> 16), (byte)(spi >> 8), (byte)spi];

    private static uint ReadSpi(byte[] spi) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(spi);
}
