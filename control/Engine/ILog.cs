namespace Rekindle.Control.Engine;

public enum LogLevel
{
    Debug,
    Info,
    Warning,
    Error,
}

/// <summary>Where the engine writes what it does; the daemon sends it to stdout/journal, tests to their output.</summary>
public interface ILog
{
    void Write(LogLevel level, string source, string message);
}

public static class LogExtensions
{
    public static void Debug(this ILog log, object source, string message) => log.Write(LogLevel.Debug, source.ToString()!, message);
    public static void Info(this ILog log, object source, string message) => log.Write(LogLevel.Info, source.ToString()!, message);
    public static void Warning(this ILog log, object source, string message) => log.Write(LogLevel.Warning, source.ToString()!, message);
    public static void Error(this ILog log, object source, string message) => log.Write(LogLevel.Error, source.ToString()!, message);
}

public sealed class NullLog : ILog
{
    public static readonly NullLog Instance = new();
    public void Write(LogLevel level, string source, string message) { }
}
