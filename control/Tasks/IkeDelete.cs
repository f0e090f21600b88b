using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Tasks;

/// <summary>
/// Deletes the IKE SA and with it every CHILD SA (RFC 7296 §1.4.1).
/// <code>
/// HDR, SK {D(IKE)}  --&gt;
///              &lt;--  HDR, SK {}
/// </code>
/// </summary>
public sealed class IkeDelete(IkeSa sa, EngineContext context, bool initiator) : IkeTask(sa, context, initiator)
{
    public override ExchangeType Exchange => ExchangeType.Informational;

    /// <summary>As responder: the request deleted the IKE SA, which goes once the answer is sent.</summary>
    public bool PeerDeleted { get; private set; }

    public override TaskResult Build(IkeMessage message)
    {
        if (Initiator)
        {
            Sa.State = IkeSaState.Deleting;
            Context.Log.Info(Sa, "deleting IKE_SA");
            message.Add(new DeletePayload(ProtocolId.Ike, []));
        }
        return TaskResult.Done;
    }

    public override TaskResult Process(IkeMessage message)
    {
        if (Initiator)
        {
            Context.Destroy(Sa, "deleted by request");
            return TaskResult.Done;
        }
        PeerDeleted = message.GetAll<DeletePayload>().Any(d => d.Protocol == ProtocolId.Ike);
        if (PeerDeleted)
        {
            Sa.State = IkeSaState.Deleting;
            Context.Log.Info(Sa, "received DELETE for IKE_SA");
        }
        return TaskResult.Done;
    }
}
