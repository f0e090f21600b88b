using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Tasks;

/// <summary>
/// NAT detection (RFC 7296 §2.23): NAT_DETECTION_SOURCE_IP / _DESTINATION_IP hashes in IKE_SA_INIT.
/// When either side is behind a NAT (or encapsulation is forced, which fakes the source hash as strongSwan does),
/// the initiator moves to the NAT-T port and ESP is UDP-encapsulated (RFC 3948).
/// </summary>
public sealed class NatDetection(IkeSa sa, EngineContext context, bool initiator) : IkeTask(sa, context, initiator)
{
    private bool _peerSentHashes;

    public override ExchangeType Exchange => ExchangeType.IkeSaInit;

    /// <summary>SHA-1(SPIi | SPIr | IP | Port).</summary>
    public static byte[] Hash(ulong spiI, ulong spiR, IPEndPoint endpoint)
    {
        var address = endpoint.Address.GetAddressBytes();
        var data = new byte[16 + address.Length + 2];
        BinaryPrimitives.WriteUInt64BigEndian(data, spiI);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(8), spiR);
        address.CopyTo(data, 16);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(16 + address.Length), (ushort)endpoint.Port);
        return SHA1.HashData(data);
    }

    public override TaskResult Build(IkeMessage message)
    {
        if (!Initiator && !_peerSentHashes)
            return TaskResult.Done;
        bool fake = Sa.Config?.ForceEncap == true;
        var source = fake ? RandomNumberGenerator.GetBytes(20) : Hash(message.InitiatorSpi, message.ResponderSpi, Sa.Local);
        message.Add(new NotifyPayload(NotifyType.NatDetectionSourceIp, source));
        message.Add(new NotifyPayload(NotifyType.NatDetectionDestinationIp, Hash(message.InitiatorSpi, message.ResponderSpi, Sa.Remote)));
        return TaskResult.Done;
    }

    public override TaskResult Process(IkeMessage message)
    {
        if (message.Error != null)
            return TaskResult.Done;
        var sources = message.Notifies.Where(n => n.NotifyType == NotifyType.NatDetectionSourceIp).ToList();
        var destination = message.GetNotify(NotifyType.NatDetectionDestinationIp);
        _peerSentHashes = sources.Count > 0 && destination != null;
        if (!_peerSentHashes)
            return TaskResult.Done;
        var remoteHash = Hash(message.InitiatorSpi, message.ResponderSpi, Sa.Remote);
        var localHash = Hash(message.InitiatorSpi, message.ResponderSpi, Sa.Local);
        Sa.RemoteBehindNat = !sources.Any(s => s.Data.AsSpan().SequenceEqual(remoteHash));
        Sa.LocalBehindNat = !destination!.Data.AsSpan().SequenceEqual(localHash) || Sa.Config?.ForceEncap == true;
        if (Sa.RemoteBehindNat)
            Context.Log.Info(Sa, "remote host is behind NAT");
        if (Sa.LocalBehindNat)
            Context.Log.Info(Sa, Sa.Config?.ForceEncap == true ? "faking NAT situation to enforce UDP encapsulation" : "local host is behind NAT");
        if (Initiator && Sa.UdpEncapsulation)
        {
            int port = Context.Options.NatTPort;
            Sa.Local = new IPEndPoint(Sa.Local.Address, port);
            Sa.Remote = new IPEndPoint(Sa.Remote.Address, port);
        }
        return TaskResult.Done;
    }
}
