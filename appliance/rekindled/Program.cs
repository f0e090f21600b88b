using System.Runtime.InteropServices;
using Rekindle.Appliance.Configuration;
using Rekindle.Appliance.Daemon;

namespace Rekindle.Appliance.Daemon;

/// <summary>rekindled [--config FILE] [--socket PATH] [--debug]</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        string configPath = "/etc/rekindle/rekindled.toml";
        string? socket = null;
        bool debug = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config" or "-c" when i + 1 < args.Length:
                    configPath = args[++i];
                    break;
                case "--socket" when i + 1 < args.Length:
                    socket = args[++i];
                    break;
                case "--debug":
                    debug = true;
                    break;
                case "--check":
                    return Check(configPath);
                default:
                    Console.Error.WriteLine($"rekindled: unknown argument '{args[i]}'\nusage: rekindled [--config FILE] [--socket PATH] [--debug] [--check]");
                    return 2;
            }
        }
        RekindleConfig config;
        try
        {
            config = ConfigLoader.Load(configPath);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"rekindled: configuration error: {e.Message}");
            return 1;
        }
        if (socket != null)
            config = config with { Daemon = config.Daemon with { Socket = socket } };
        var log = new ConsoleLog(debug ? Control.Engine.LogLevel.Debug : config.Daemon.LogLevel);
        using var stop = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        try
        {
            await new GatewayDaemon(config, log).RunAsync(stop.Token);
            return 0;
        }
        catch (InvalidOperationException e)
        {
            log.Write(Control.Engine.LogLevel.Error, "daemon", e.Message);
            return 1;
        }
    }

    private static int Check(string path)
    {
        try
        {
            var config = ConfigLoader.Load(path);
            Console.WriteLine($"{path}: OK, {config.Connections.Count} connection(s)");
            return 0;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"rekindled: configuration error: {e.Message}");
            return 1;
        }
    }
}
