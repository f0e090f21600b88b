using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Tasks;

/// <summary>
/// Answers CREATE_CHILD_SA requests this engine cannot serve yet (rekeying of IKE or CHILD SAs) with
/// NO_ADDITIONAL_SAS, which RFC 7296 §1.3 allows and which keeps the existing SAs.
/// </summary>
public sealed class CreateChildDecline(IkeSa sa, EngineContext context) : IkeTask(sa, context, initiator: false)
{
    public override ExchangeType Exchange => ExchangeType.CreateChildSa;

    public override TaskResult Process(IkeMessage message)
    {
        Context.Log.Warning(Sa, "CREATE_CHILD_SA rekeying is not supported yet, answering NO_ADDITIONAL_SAS");
        return TaskResult.Done;
    }

    public override TaskResult Build(IkeMessage message)
    {
        message.Add(new NotifyPayload(NotifyType.NoAdditionalSas));
        return TaskResult.Done;
    }
}
