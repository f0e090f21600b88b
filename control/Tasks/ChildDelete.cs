using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Tasks;

/// <summary>
/// Deletes CHILD SAs (RFC 7296 §1.4.1): each side names its inbound SPIs, the answer names the responder's.
/// <code>
/// HDR, SK {D(ESP, spi-in...)}  --&gt;
///                         &lt;--  HDR, SK {D(ESP, spi-in...)}
/// </code>
/// </summary>
public sealed class ChildDelete(IkeSa sa, EngineContext context, bool initiator, IReadOnlyList<ChildSa>? children = null)
    : IkeTask(sa, context, initiator)
{
    private readonly List<ChildSa> _children = children?.ToList() ?? [];

    public override ExchangeType Exchange => ExchangeType.Informational;

    public override TaskResult Build(IkeMessage message)
    {
        if (_children.Count > 0)
            message.Add(new DeletePayload(ProtocolId.Esp, _children.Select(c => c.InboundSpi).ToList()));
        return TaskResult.Done;
    }

    public override TaskResult Process(IkeMessage message)
    {
        if (Initiator)
        {
            foreach (var child in _children)
                ChildSaInstaller.Uninstall(Context, Sa, child);
            return TaskResult.Done;
        }
        // The peer names its inbound SPIs, which are our outbound ones.
        var spis = message.GetAll<DeletePayload>().Where(d => d.Protocol == ProtocolId.Esp).SelectMany(d => d.Spis).ToHashSet();
        foreach (var child in Sa.Children.Where(c => spis.Contains(c.OutboundSpi)).ToList())
        {
            Context.Log.Info(Sa, $"received DELETE for ESP CHILD_SA with SPI {child.OutboundSpi:x8}");
            ChildSaInstaller.Uninstall(Context, Sa, child);
            _children.Add(child);
        }
        return TaskResult.Done;
    }
}
