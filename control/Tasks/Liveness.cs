using Rekindle.Control.Encoding;
using Rekindle.Control.Engine;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Tasks;

/// <summary>
/// Liveness check (RFC 7296 §2.4, strongSwan's DPD): an empty INFORMATIONAL request. An answer proves the peer alive;
/// none after all retransmissions makes the task manager give the IKE SA up.
/// </summary>
public sealed class Liveness(IkeSa sa, EngineContext context) : IkeTask(sa, context, initiator: true)
{
    public override ExchangeType Exchange => ExchangeType.Informational;

    public override TaskResult Build(IkeMessage message) => TaskResult.Done;

    public override TaskResult Process(IkeMessage message) => TaskResult.Done;
}
