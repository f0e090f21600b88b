using Rekindle.Control.Config;
using Rekindle.Control.Engine;

namespace Rekindle.Appliance.Configuration;

/// <summary>The whole of rekindled.toml, validated.</summary>
public sealed record RekindleConfig(DaemonSettings Daemon, EngineOptions Engine, IReadOnlyList<ConnectionConfig> Connections, string Path);

/// <summary>The <c>[daemon]</c> table.</summary>
public sealed record DaemonSettings
{
    public string Socket { get; init; } = "/run/rekindle/rekindled.sock";
    /// <summary>"userspace" carries ESP through a TUN device; "none" negotiates and records SAs without carrying traffic.</summary>
    public string Dataplane { get; init; } = "none";
    /// <summary>The TUN device of the userspace data plane.</summary>
    public string TunName { get; init; } = "rekindle0";
    public int Mtu { get; init; } = 1400;
    public Control.Engine.LogLevel LogLevel { get; init; } = Control.Engine.LogLevel.Info;
}

/// <summary>A configuration error, located: file, line and key.</summary>
public sealed class ConfigException(string path, int line, string? key, string message)
    : Exception(key == null ? $"{path}:{line}: {message}" : $"{path}:{line}: {key}: {message}")
{
    public string File { get; } = path;
    public int Line { get; } = line;
    public string? Key { get; } = key;
}
