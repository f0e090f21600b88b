using Rekindle.Control.Config;
using Rekindle.Control.Encoding;
using Rekindle.Control.Kernel;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Engine;

/// <summary>What tasks may use from the engine: the back-end, configuration, clock, log and SA life cycle.</summary>
public sealed class EngineContext
{
    private readonly IkeEngine _engine;
    private int _reqId;

    internal EngineContext(IkeEngine engine, ISaBackend backend, ILog log, EngineOptions options, TimeProvider time)
    {
        _engine = engine;
        Backend = backend;
        Log = log;
        Options = options;
        Time = time;
    }

    public ISaBackend Backend { get; }
    public ILog Log { get; }
    public EngineOptions Options { get; }
    public TimeProvider Time { get; }
    public DateTimeOffset Now => Time.GetUtcNow();
    public IReadOnlyList<ConnectionConfig> Connections => _engine.Connections;

    public uint NextReqId() => (uint)Interlocked.Increment(ref _reqId);

    internal byte[] Send(IkeSa sa, IkeMessage message) => _engine.Send(sa, message);

    internal void Destroy(IkeSa sa, string reason) => _engine.Destroy(sa, reason);

    internal void OnEstablished(IkeSa sa) => _engine.RaiseEstablished(sa);

}
