using Rekindle.Control.Engine;

namespace Rekindle.Appliance.Daemon;

/// <summary>Log lines on stdout (the journal takes them from there), one per event, filtered by level.</summary>
public sealed class ConsoleLog(LogLevel minimum) : ILog
{
    private readonly Lock _lock = new();

    public void Write(LogLevel level, string source, string message)
    {
        if (level < minimum)
            return;
        string tag = level switch { LogLevel.Debug => "DBG", LogLevel.Info => "INF", LogLevel.Warning => "WRN", _ => "ERR" };
        lock (_lock)
        {
            Console.Out.WriteLine($"{DateTime.Now:HH:mm:ss.fff} {tag} [{source}] {message}");
            Console.Out.Flush();
        }
    }
}
