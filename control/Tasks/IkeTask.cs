using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Sa;

namespace Rekindle.Control.Tasks;

public enum TaskResult
{
    /// <summary>The task has done its part of the exchange.</summary>
    Done,
    /// <summary>The exchange must be sent again from the start (COOKIE, INVALID_KE_PAYLOAD).</summary>
    Retry,
    /// <summary>The IKE SA cannot go on; the task set <see cref="IkeTask.Failure"/> (and, as responder, the error to answer).</summary>
    Failed,
}

/// <summary>
/// One concern of an IKE SA (as strongSwan's task_t). An initiator task builds a request and processes the response;
/// a responder task processes a request and builds the response. Several tasks serve one exchange, each adding or
/// consuming its own payloads.
/// </summary>
public abstract class IkeTask(IkeSa sa, EngineContext context, bool initiator)
{
    protected IkeSa Sa { get; } = sa;
    protected EngineContext Context { get; } = context;
    public bool Initiator { get; } = initiator;

    /// <summary>The exchange this task takes part in (as initiator, the one it starts).</summary>
    public abstract ExchangeType Exchange { get; }

    /// <summary>Why the task failed, for the log and <c>list-sas</c>.</summary>
    public string? Failure { get; protected set; }

    /// <summary>As responder: the error notify that replaces the whole response when the task fails.</summary>
    public NotifyPayload? ErrorResponse { get; protected set; }

    public abstract TaskResult Build(IkeMessage message);

    public abstract TaskResult Process(IkeMessage message);

    protected TaskResult Fail(string reason, NotifyType? answer = null, byte[]? data = null)
    {
        Failure = reason;
        if (answer is { } type)
            ErrorResponse = new NotifyPayload(type, data);
        return TaskResult.Failed;
    }

    public override string ToString() => $"{GetType().Name}({(Initiator ? "initiator" : "responder")})";
}
