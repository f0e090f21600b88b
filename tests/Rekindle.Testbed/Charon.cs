using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Rekindle.Testbed;

/// <summary>
/// strongSwan's charon in a namespace with its own config, vici socket, log and /run (the pid file path is compiled in),
/// with kernel-libipsec for userspace ESP (../shared/notes/strongswan-netns.md). Driven through swanctl.
/// </summary>
public sealed class Charon : IDisposable
{
    private readonly string _dir;
    private readonly Process _process;

    /// <param name="kernelEsp">Use the kernel's ESP through kernel-netlink (on kernels that have it) instead of kernel-libipsec.</param>
    public Charon(string ns, string swanctlConf, bool kernelEsp = false)
    {
        if (!File.Exists("/usr/lib/ipsec/charon") || !File.Exists("/usr/sbin/swanctl"))
            throw new InvalidOperationException("strongSwan is not installed (apt-get install strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-extra-plugins libstrongswan-standard-plugins)");
        _dir = Directory.CreateTempSubdirectory("charon-").FullName;
        Vici = $"unix://{_dir}/charon.vici";
        Directory.CreateDirectory(Path.Combine(_dir, "run"));
        foreach (var folder in "x509 x509ca x509ocsp x509aa x509ac x509crl pubkey private rsa ecdsa bliss pkcs8 pkcs12".Split(' '))
            Directory.CreateDirectory(Path.Combine(_dir, folder));
        File.WriteAllText(Path.Combine(_dir, "strongswan.conf"), $$"""
            charon {
                load = random nonce openssl curve25519 aes gcm sha1 sha2 hmac kdf pem pkcs1 x509 pubkey {{(kernelEsp ? "" : "kernel-libipsec ")}}kernel-netlink socket-default vici
                install_routes = yes
                routing_table = 220
                routing_table_prio = 220
                retransmit_tries = 3
                retransmit_timeout = 1.0
                plugins {
                    vici {
                        socket = {{Vici}}
                    }
                }
                filelog {
                    main {
                        path = {{_dir}}/charon.log
                        time_format = %H:%M:%S
                        ike_name = yes
                        flush_line = yes
                        default = 1
                        ike = 2
                        cfg = 2
                        knl = 1
                    }
                }
                syslog {
                    daemon {
                        default = -1
                    }
                }
            }
            """);
        File.WriteAllText(Path.Combine(_dir, "swanctl.conf"), swanctlConf);
        var start = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "sh", "-c",
            $"mount --bind {_dir}/run /run && exec /usr/lib/ipsec/charon" })
            start.ArgumentList.Add(arg);
        start.Environment["STRONGSWAN_CONF"] = Path.Combine(_dir, "strongswan.conf");
        _process = Process.Start(start)!;
        try
        {
            Shell.WaitFor(() => File.Exists(Path.Combine(_dir, "charon.vici")) || _process.HasExited, TimeSpan.FromSeconds(20), "charon's vici socket");
            if (_process.HasExited)
                throw new InvalidOperationException($"charon exited with {_process.ExitCode}: {_process.StandardError.ReadToEnd()}");
            Swanctl("--load-all", "--file", Path.Combine(_dir, "swanctl.conf"));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Vici { get; }
    public string Log => File.Exists(Path.Combine(_dir, "charon.log")) ? File.ReadAllText(Path.Combine(_dir, "charon.log")) : "";

    public Shell.Result Swanctl(params string[] args) => Shell.Run("swanctl", [.. args, "--uri", Vici], TimeSpan.FromSeconds(60), check: false);

    /// <summary>The SAs as <c>swanctl --list-sas --raw</c> reports them, reduced to what the tests compare.</summary>
    public IReadOnlyList<SwanSa> ListSas()
    {
        var raw = Swanctl("--list-sas", "--raw").Output;
        var sas = new List<SwanSa>();
        foreach (Match ike in Regex.Matches(raw, @"list-sa event \{(?<name>[\w-]+) \{(?<body>.*)\}\}\s*$", RegexOptions.Multiline))
        {
            var body = ike.Groups["body"].Value;
            string Field(string text, string key) => Regex.Match(text, $@"(?:^|\s){Regex.Escape(key)}=(\S+)").Groups[1].Value;
            var childText = Regex.Match(body, @"child-sas \{(.*)\}").Groups[1].Value;
            var children = Regex.Matches(childText, @"[\w-]+ \{(?<c>[^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
                .Select(m => m.Groups["c"].Value)
                .Select(c => new SwanChild(Field(c, "name"), Field(c, "state"), Field(c, "spi-in"), Field(c, "spi-out"),
                    Field(c, "encr-alg"), Field(c, "encr-keysize"), Field(c, "integ-alg"), Field(c, "encap") == "yes"))
                .ToList();
            var ikeFields = Regex.Replace(body, @"child-sas \{.*\}", "");
            sas.Add(new SwanSa(ike.Groups["name"].Value, Field(ikeFields, "state"), Field(ikeFields, "initiator-spi"), Field(ikeFields, "responder-spi"),
                Field(ikeFields, "encr-alg"), Field(ikeFields, "encr-keysize"), Field(ikeFields, "integ-alg"), Field(ikeFields, "prf-alg"),
                Field(ikeFields, "dh-group"), children));
        }
        return sas;
    }

    public void Dispose()
    {
        var pidFile = Path.Combine(_dir, "run", "charon.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
        {
            Shell.Try("kill", "-TERM", pid.ToString());
            try
            {
                Shell.WaitFor(() => !Directory.Exists($"/proc/{pid}"), TimeSpan.FromSeconds(5), "charon to stop");
            }
            catch (TimeoutException)
            {
                Shell.Try("kill", "-KILL", pid.ToString());
            }
        }
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit(5000);
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A swanctl.conf for one connection, mirroring <see cref="Rekindled.Config"/>.</summary>
    public static string Config(string name, string local, string remote, string localId, string remoteId, string localTs, string remoteTs,
        string ike, string esp, string psk, bool encap = true) => $$"""
        connections {
            {{name}} {
                version = 2
                local_addrs = {{local}}
                remote_addrs = {{remote}}
                proposals = {{ike}}
                encap = {{(encap ? "yes" : "no")}}
                mobike = no
                dpd_delay = 0s
                rekey_time = 0s
                local {
                    auth = psk
                    id = {{localId}}
                }
                remote {
                    auth = psk
                    id = {{remoteId}}
                }
                children {
                    net {
                        local_ts = {{localTs}}
                        remote_ts = {{remoteTs}}
                        esp_proposals = {{esp}}
                        mode = tunnel
                        start_action = none
                        rekey_time = 0s
                    }
                }
            }
        }
        secrets {
            ike-{{name}} {
                id-a = {{localId}}
                id-b = {{remoteId}}
                secret = "{{psk}}"
            }
        }
        """;
}

public sealed record SwanSa(string Name, string State, string InitiatorSpi, string ResponderSpi, string EncrAlg, string EncrKeySize,
    string IntegAlg, string PrfAlg, string DhGroup, IReadOnlyList<SwanChild> Children);

public sealed record SwanChild(string Name, string State, string SpiIn, string SpiOut, string EncrAlg, string EncrKeySize, string IntegAlg, bool Encap);
