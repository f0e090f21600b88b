using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Sa;
using Rekindle.Control.Tasks;

namespace Rekindle.Control.Engine;

/// <summary>
/// Runs an IKE SA's tasks (as strongSwan's task_manager_v2): queued tasks wait for their turn, the active ones share
/// one request in flight (window size 1), which is retransmitted with exponential back-off until answered or given up.
/// As responder it runs the tasks an incoming request calls for and answers it.
/// </summary>
public sealed class TaskManager(IkeSa sa)
{
    private readonly List<IkeTask> _queued = [];
    private List<IkeTask> _active = [];
    private Outstanding? _outstanding;

    private sealed record Outstanding(byte[] Message, uint MessageId, ExchangeType Exchange, int Retransmits, DateTimeOffset NextRetransmit);

    public bool Idle => _outstanding == null && _queued.Count == 0;

    public bool IsQueuedOrActive<T>() where T : IkeTask => _queued.OfType<T>().Any() || _active.OfType<T>().Any();

    public void Queue(IkeTask task) => _queued.Add(task);

    /// <summary>Starts the next exchange if none is in flight: every queued task of the first task's exchange joins it.</summary>
    public void InitiateNext(EngineContext context)
    {
        if (_outstanding != null || _queued.Count == 0 || sa.State == IkeSaState.Destroyed)
            return;
        var exchange = _queued[0].Exchange;
        _active = _queued.TakeWhile(t => t.Exchange == exchange).ToList();
        _queued.RemoveRange(0, _active.Count);
        SendRequest(context, exchange);
    }

    private void SendRequest(EngineContext context, ExchangeType exchange)
    {
        var request = sa.NewMessage(exchange, response: false, sa.NextRequestId);
        foreach (var task in _active)
        {
            if (task.Build(request) == TaskResult.Failed)
            {
                context.Destroy(sa, task.Failure ?? $"{task} failed");
                return;
            }
        }
        var bytes = context.Send(sa, request);
        _outstanding = new Outstanding(bytes, request.MessageId, exchange, 0, context.Now + context.Options.RetransmitTimeout);
    }

    public void ProcessResponse(EngineContext context, IkeMessage response)
    {
        if (_outstanding == null || response.MessageId != _outstanding.MessageId || response.Exchange != _outstanding.Exchange)
        {
            context.Log.Debug(sa, $"dropping unexpected {response}");
            return;
        }
        var exchange = _outstanding.Exchange;
        _outstanding = null;
        bool retry = false;
        foreach (var task in _active)
        {
            var result = task.Process(response);
            if (result == TaskResult.Failed)
            {
                context.Destroy(sa, task.Failure ?? $"{task} failed");
                return;
            }
            retry |= result == TaskResult.Retry;
        }
        if (retry)
        {
            SendRequest(context, exchange);
            return;
        }
        sa.NextRequestId++;
        _active.Clear();
        InitiateNext(context);
    }

    /// <summary>Answers a request with the tasks chosen for its exchange; an error from one task replaces the answer.</summary>
    public void ProcessRequest(EngineContext context, IkeMessage request, IReadOnlyList<IkeTask> passive)
    {
        var response = sa.NewMessage(request.Exchange, response: true, request.MessageId);
        IkeTask? failed = passive.FirstOrDefault(task => task.Process(request) == TaskResult.Failed);
        if (failed == null)
        {
            foreach (var task in passive)
            {
                if (task.Build(response) == TaskResult.Failed)
                {
                    failed = task;
                    break;
                }
            }
        }
        if (failed != null)
        {
            response.Payloads.Clear();
            if (failed.ErrorResponse != null)
            {
                if (request.Exchange == ExchangeType.IkeSaInit)
                    response.ResponderSpi = 0; // no state is kept for a refused IKE_SA_INIT
                response.Add(failed.ErrorResponse);
                context.Send(sa, response);
            }
            context.Destroy(sa, failed.Failure ?? $"{failed} failed");
            return;
        }
        sa.CachedResponse = context.Send(sa, response);
        sa.ExpectedPeerRequestId++;
        if (passive.OfType<IkeDelete>().Any(d => d.PeerDeleted))
            context.Destroy(sa, "deleted by peer");
    }

    /// <summary>Retransmits the request in flight when due; gives the SA up after the configured number of tries.</summary>
    public void OnTimer(EngineContext context, IIkeRetransmitter network)
    {
        if (_outstanding is not { } pending || context.Now < pending.NextRetransmit)
            return;
        var options = context.Options;
        if (pending.Retransmits >= options.RetransmitTries)
        {
            context.Destroy(sa, $"peer did not answer {pending.Exchange} request {pending.MessageId} after {pending.Retransmits} retransmits");
            return;
        }
        int tries = pending.Retransmits + 1;
        var delay = options.RetransmitTimeout * Math.Pow(options.RetransmitBase, tries);
        _outstanding = pending with { Retransmits = tries, NextRetransmit = context.Now + delay };
        context.Log.Info(sa, $"retransmit {tries} of {pending.Exchange} request {pending.MessageId}");
        network.Resend(sa, pending.Message);
    }
}

/// <summary>Sends already encoded bytes again (a retransmission or a cached response).</summary>
public interface IIkeRetransmitter
{
    void Resend(IkeSa sa, byte[] message);
}
