using System.Text.Json;
using Rekindle.Appliance.ControlSocket;

namespace Rekindle.Appliance.Cli;

/// <summary>rekindlectl: a thin client; every command is one request on rekindled's control socket.</summary>
public static class Program
{
    private const string Usage = """
        usage: rekindlectl [--socket PATH] [--json] COMMAND
          up NAME [--timeout S]              initiate connection NAME and wait for it
          down NAME [--child CHILD]          delete the IKE SA of NAME (or only its CHILD SA)
          list-sas [NAME]                    IKE and CHILD SAs with SPIs, algorithms, state and age
          list-conns                         configured connections
          stats [NAME]                       per-SA packets, bytes, replay drops, integrity failures, last packet
          capture NAME --out FILE.pcapng [--seconds N]   capture the connection's IKE and ESP traffic (default 10 s)
          keys --wireshark DIR               write ikev2_decryption_table and esp_sa for Wireshark (secret keys!)
        """;

    public static async Task<int> Main(string[] args)
    {
        string socket = Environment.GetEnvironmentVariable("REKINDLE_SOCKET") ?? "/run/rekindle/rekindled.sock";
        bool json = false;
        string? child = null, output = null, wireshark = null;
        double? seconds = null;
        double timeout = 30;
        var positional = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--socket" when i + 1 < args.Length: socket = args[++i]; break;
                case "--json": json = true; break;
                case "--child" when i + 1 < args.Length: child = args[++i]; break;
                case "--out" when i + 1 < args.Length: output = Path.GetFullPath(args[++i]); break;
                case "--wireshark" when i + 1 < args.Length: wireshark = args[++i]; break;
                case "--seconds" when i + 1 < args.Length && double.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var s): seconds = s; i++; break;
                case "--timeout" when i + 1 < args.Length && double.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out timeout): i++; break;
                case "-h" or "--help": Console.WriteLine(Usage); return 0;
                default:
                    if (args[i].StartsWith("--"))
                    {
                        Console.Error.WriteLine($"rekindlectl: unknown option '{args[i]}'\n{Usage}");
                        return 2;
                    }
                    positional.Add(args[i]);
                    break;
            }
        }
        if (positional.Count == 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }
        string command = positional[0];
        string? name = positional.Count > 1 ? positional[1] : null;
        if (command is "up" or "down" or "capture" && name == null)
        {
            Console.Error.WriteLine($"rekindlectl: {command} needs a connection name\n{Usage}");
            return 2;
        }
        if (command == "capture" && output == null || command == "keys" && wireshark == null)
        {
            Console.Error.WriteLine($"rekindlectl: {command} needs {(command == "capture" ? "--out FILE.pcapng" : "--wireshark DIR")}\n{Usage}");
            return 2;
        }
        if (command == "capture")
            timeout = seconds ?? 10;
        if (command is not ("up" or "down" or "list-sas" or "list-conns" or "stats" or "capture" or "keys"))
        {
            Console.Error.WriteLine($"rekindlectl: unknown command '{command}'\n{Usage}");
            return 2;
        }
        ControlResponse response;
        try
        {
            response = await ControlClient.SendAsync(socket, new ControlRequest(command, name, child, timeout, output));
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"rekindlectl: {e.Message}");
            return 1;
        }
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(response, ControlJson.Options));
            return response.Ok ? 0 : 1;
        }
        if (!response.Ok)
        {
            Console.Error.WriteLine($"rekindlectl: {response.Error}");
            return 1;
        }
        if (response.Message != null)
            Console.WriteLine(response.Message);
        if (wireshark != null && response.IkeKeys != null)
        {
            var (ike, esp) = WiresharkKeys.Write(wireshark, response.IkeKeys, response.EspKeys ?? []);
            Console.WriteLine($"wrote {ike} and {esp}; these hold secret keys: delete them when done");
        }
        if (response.Sas != null)
            Console.Write(SaFormatter.FormatSas(response.Sas));
        if (response.Stats != null)
            Console.Write(SaFormatter.FormatStats(response.Stats, response.DataplaneCounters));
        if (response.Connections != null)
            Console.Write(SaFormatter.FormatConnections(response.Connections));
        return 0;
    }
}
