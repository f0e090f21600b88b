using System.Globalization;
using System.Net;
using System.Text;
using Rekindle.Control.Config;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Kernel;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Rekindle.Appliance.Configuration;

/// <summary>
/// Reads rekindled.toml from Tomlyn's syntax tree, so that every error names the file, line and key:
/// <code>
/// [daemon]
/// socket = "/run/rekindle/rekindled.sock"
///
/// [connections.a-b]
/// local_addrs = "192.0.2.1"
/// remote_addrs = "192.0.2.2"
/// local_id = "gwa.example"
/// remote_id = "gwb.example"
/// psk = "..."
/// ike_proposals = "aes256gcm16-prfsha256-x25519"
/// esp_proposals = "aes256gcm16"
/// local_ts = "10.1.0.0/24"
/// remote_ts = "10.2.0.0/24"
/// start_action = "initiate"      # or "listen"
/// </code>
/// </summary>
public static class ConfigLoader
{
    public static RekindleConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, 0, null, $"cannot read configuration: {e.Message}");
        }
        return Parse(text, path);
    }

    public static RekindleConfig Parse(string text, string path)
    {
        var document = SyntaxParser.Parse(text, path);
        foreach (var diagnostic in document.Diagnostics)
        {
            if (diagnostic.Kind == DiagnosticMessageKind.Error)
                throw new ConfigException(path, diagnostic.Span.Start.Line + 1, null, diagnostic.Message);
        }
        var reader = new Reader(path);
        foreach (var item in document.KeyValues)
            throw reader.Error(item, KeyName(item.Key), "settings belong in [daemon] or [connections.NAME]");

        var daemon = new DaemonSettings();
        var engine = new EngineOptions();
        var connections = new List<ConnectionConfig>();
        foreach (var table in document.Tables)
        {
            var name = TableName(table);
            int line = table.Span.Start.Line + 1;
            if (table is not TableSyntax)
                throw new ConfigException(path, line, string.Join('.', name), "arrays of tables are not used");
            if (name is ["daemon"])
                (daemon, engine) = reader.Daemon(table);
            else if (name is ["connections", var connection])
            {
                if (connections.Any(c => c.Name == connection))
                    throw new ConfigException(path, line, $"connections.{connection}", "connection defined twice");
                connections.Add(reader.Connection(connection, table));
            }
            else
                throw new ConfigException(path, line, string.Join('.', name), "unknown table (expected [daemon] or [connections.NAME])");
        }
        return new RekindleConfig(daemon, engine, connections, path);
    }

    private static List<string> TableName(TableSyntaxBase table) =>
        [KeyPart(table.Name!.Key!), .. table.Name.DotKeys.Select(d => KeyPart(d.Key!))];

    private static string KeyName(KeySyntax? key) =>
        key == null ? "?" : string.Join('.', new[] { KeyPart(key.Key!) }.Concat(key.DotKeys.Select(d => KeyPart(d.Key!))));

    private static string KeyPart(BareKeyOrStringValueSyntax key) => key switch
    {
        BareKeySyntax bare => bare.Key!.Text!,
        StringValueSyntax quoted => quoted.Value!,
        _ => key.ToString()!,
    };

    private sealed class Reader(string path)
    {
        public ConfigException Error(SyntaxNode node, string key, string message) => new(path, node.Span.Start.Line + 1, key, message);

        public (DaemonSettings, EngineOptions) Daemon(TableSyntaxBase table)
        {
            var daemon = new DaemonSettings();
            var engine = new EngineOptions();
            foreach (var item in table.Items)
            {
                var name = KeyName(item.Key);
                var key = $"daemon.{name}";
                switch (name)
                {
                    case "socket": daemon = daemon with { Socket = String(item, key) }; break;
                    case "dataplane": daemon = daemon with { Dataplane = OneOf(item, key, "none", "userspace", "xfrm", "auto") }; break;
                    case "tun_name": daemon = daemon with { TunName = InterfaceName(item, key) }; break;
                    case "mtu": daemon = daemon with { Mtu = (int)Number(item, key, 576, 9000) }; break;
                    case "keepalive_interval": engine = engine with { KeepaliveInterval = Seconds(item, key, allowZero: true) }; break;
                    case "log_level":
                        daemon = daemon with { LogLevel = Enum.Parse<Control.Engine.LogLevel>(OneOf(item, key, "debug", "info", "warning", "error"), true) };
                        break;
                    case "ike_port": engine = engine with { IkePort = Port(item, key) }; break;
                    case "natt_port": engine = engine with { NatTPort = Port(item, key) }; break;
                    case "retransmit_timeout": engine = engine with { RetransmitTimeout = Seconds(item, key, allowZero: false) }; break;
                    case "retransmit_base": engine = engine with { RetransmitBase = Number(item, key, 1, 10) }; break;
                    case "retransmit_tries": engine = engine with { RetransmitTries = (int)Number(item, key, 0, 100) }; break;
                    case "cookie_threshold": engine = engine with { CookieThreshold = (int)Number(item, key, 0, int.MaxValue) }; break;
                    case "half_open_timeout": engine = engine with { HalfOpenTimeout = Seconds(item, key, allowZero: false) }; break;
                    default: throw Error(item, key, "unknown setting");
                }
            }
            return (daemon, engine);
        }

        public ConnectionConfig Connection(string name, TableSyntaxBase table)
        {
            var items = new Dictionary<string, KeyValueSyntax>();
            foreach (var item in table.Items)
            {
                var key = KeyName(item.Key);
                if (!Known.Contains(key))
                    throw Error(item, $"connections.{name}.{key}", $"unknown setting (known: {string.Join(", ", Known)})");
                if (!items.TryAdd(key, item))
                    throw Error(item, $"connections.{name}.{key}", "set twice");
            }
            KeyValueSyntax Required(string key) => items.TryGetValue(key, out var item) ? item
                : throw new ConfigException(path, table.Span.Start.Line + 1, $"connections.{name}.{key}", "missing required setting");
            T Parse<T>(string key, Func<string, T> parse, T fallback)
            {
                if (!items.TryGetValue(key, out var item))
                    return fallback;
                var value = String(item, $"connections.{name}.{key}");
                try
                {
                    return parse(value);
                }
                catch (FormatException e)
                {
                    throw Error(item, $"connections.{name}.{key}", e.Message);
                }
            }
            T ParseRequired<T>(string key, Func<string, T> parse)
            {
                Required(key);
                return Parse(key, parse, default(T)!);
            }

            var local = Parse<IPAddress?>("local_addrs", Address, null);
            var remote = Parse<IPAddress?>("remote_addrs", Address, null);
            var startAction = Parse("start_action", s => s switch
            {
                "initiate" or "start" => StartAction.Initiate,
                "listen" or "none" => StartAction.Listen,
                "trap" => StartAction.Trap,
                _ => throw new FormatException($"'{s}' is not one of: initiate, listen, trap"),
            }, StartAction.Listen);
            if (startAction == StartAction.Initiate && remote == null)
                throw Error(items.GetValueOrDefault("start_action") ?? (SyntaxNode)table, $"connections.{name}.remote_addrs", "initiating needs a remote address");
            var psk = String(Required("psk"), $"connections.{name}.psk");
            if (psk.Length < 8)
                throw Error(items["psk"], $"connections.{name}.psk", "pre-shared key is shorter than 8 characters");
            return new ConnectionConfig
            {
                Name = name,
                LocalAddress = local,
                RemoteAddress = remote,
                LocalId = ParseRequired("local_id", Identity.Parse),
                RemoteId = ParseRequired("remote_id", Identity.Parse),
                Psk = Encoding.UTF8.GetBytes(psk),
                IkeProposals = Parse("ike_proposals", ProposalParser.ParseIke, ProposalParser.ParseIke("aes256gcm16-prfsha256-x25519")),
                EspProposals = Parse("esp_proposals", ProposalParser.ParseEsp, ProposalParser.ParseEsp("aes256gcm16")),
                ChildName = Parse("child_name", s => s.Length > 0 ? s : throw new FormatException("empty name"), "net"),
                LocalTs = ParseRequired("local_ts", Selectors),
                RemoteTs = ParseRequired("remote_ts", Selectors),
                StartAction = startAction,
                ForceEncap = items.TryGetValue("encap", out var encap) && Boolean(encap, $"connections.{name}.encap"),
                DpdDelay = items.TryGetValue("dpd_delay", out var dpd) ? Seconds(dpd, $"connections.{name}.dpd_delay", allowZero: true) : TimeSpan.Zero,
                ChildLifetime = Lifetime(name, items),
                MarkIn = Parse<XfrmMark?>("mark_in", t => XfrmMark.Parse(t), null),
                MarkOut = Parse<XfrmMark?>("mark_out", t => XfrmMark.Parse(t), null),
            };
        }

        /// <summary>CHILD SA lifetimes as strongSwan names them: rekey_* is the soft limit, life_* the hard one.</summary>
        private SaLifetime? Lifetime(string name, Dictionary<string, KeyValueSyntax> items)
        {
            TimeSpan Time(string key) => items.TryGetValue(key, out var item) ? Seconds(item, $"connections.{name}.{key}", allowZero: true) : TimeSpan.Zero;
            ulong Count(string key) => items.TryGetValue(key, out var item) ? (ulong)Number(item, $"connections.{name}.{key}", 0, long.MaxValue) : 0;
            var life = new SaLifetime(Count("rekey_bytes"), Count("life_bytes"), Count("rekey_packets"), Count("life_packets"), Time("rekey_time"), Time("life_time"));
            foreach (var (soft, hard, softValue, hardValue) in new[]
            {
                ("rekey_time", "life_time", life.SoftTime.TotalSeconds, life.HardTime.TotalSeconds),
                ("rekey_bytes", "life_bytes", (double)life.SoftBytes, (double)life.HardBytes),
                ("rekey_packets", "life_packets", (double)life.SoftPackets, (double)life.HardPackets),
            })
            {
                if (softValue > 0 && hardValue > 0 && softValue >= hardValue)
                    throw Error(items[soft], $"connections.{name}.{soft}", $"must be below {hard}");
            }
            return life == new SaLifetime() ? null : life;
        }

        private static readonly string[] Known =
        [
            "local_addrs", "remote_addrs", "local_id", "remote_id", "psk", "ike_proposals", "esp_proposals", "child_name",
            "local_ts", "remote_ts", "start_action", "encap", "dpd_delay",
            "rekey_time", "life_time", "rekey_bytes", "life_bytes", "rekey_packets", "life_packets", "mark_in", "mark_out",
        ];

        private static IPAddress Address(string text) =>
            text is "%any" or "" ? null!
            : (text.Contains(':') || text.Split('.').Length == 4) && IPAddress.TryParse(text, out var address) ? address
            : throw new FormatException($"'{text}' is not an IP address");

        private static List<TrafficSelector> Selectors(string text)
        {
            var selectors = new List<TrafficSelector>();
            foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!IPNetwork.TryParse(part.Contains('/') ? part : part + (part.Contains(':') ? "/128" : "/32"), out _))
                    throw new FormatException($"'{part}' is not a subnet such as 10.1.0.0/24");
                selectors.Add(TrafficSelector.FromCidr(part.Contains('/') ? part : part + (part.Contains(':') ? "/128" : "/32")));
            }
            return selectors.Count > 0 ? selectors : throw new FormatException("no subnet given");
        }

        private string String(KeyValueSyntax item, string key) =>
            item.Value is StringValueSyntax s ? s.Value! : throw Error(item, key, "expected a string");

        private bool Boolean(KeyValueSyntax item, string key) =>
            item.Value is BooleanValueSyntax b ? b.Value : throw Error(item, key, "expected true or false");

        private double Number(KeyValueSyntax item, string key, double min, double max)
        {
            double value = item.Value switch
            {
                IntegerValueSyntax i => i.Value,
                FloatValueSyntax f => f.Value,
                _ => throw Error(item, key, "expected a number"),
            };
            return value >= min && value <= max ? value : throw Error(item, key, $"must be between {min} and {max}");
        }

        private int Port(KeyValueSyntax item, string key) => (int)Number(item, key, 1, 65535);

        /// <summary>Seconds as a number, or a string with a unit as strongSwan writes them ("30s", "2m").</summary>
        private TimeSpan Seconds(KeyValueSyntax item, string key, bool allowZero)
        {
            TimeSpan value;
            if (item.Value is StringValueSyntax s)
            {
                var text = s.Value!.Trim();
                double factor = text.EndsWith('m') ? 60 : text.EndsWith('h') ? 3600 : 1;
                var number = text.TrimEnd('s', 'm', 'h');
                if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0)
                    throw Error(item, key, $"'{text}' is not a duration such as 30s, 2m, 1h");
                value = TimeSpan.FromSeconds(n * factor);
            }
            else
            {
                value = TimeSpan.FromSeconds(Number(item, key, 0, 86400 * 365));
            }
            return allowZero || value > TimeSpan.Zero ? value : throw Error(item, key, "must be greater than zero");
        }

        private string InterfaceName(KeyValueSyntax item, string key)
        {
            var name = String(item, key);
            return name.Length is > 0 and <= 15 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
                ? name : throw Error(item, key, $"'{name}' is not a valid interface name (1-15 letters, digits, '-', '_', '.')");
        }

        private string OneOf(KeyValueSyntax item, string key, params string[] allowed)
        {
            var value = String(item, key);
            return allowed.Contains(value) ? value : throw Error(item, key, $"'{value}' is not one of: {string.Join(", ", allowed)}");
        }
    }
}
