using System.Diagnostics;
using System.Text.Json;
using Rekindle.Appliance.ControlSocket;

namespace Rekindle.Testbed;

/// <summary>A rekindled process in a namespace, with its own config and control socket, driven through rekindlectl.</summary>
public sealed class Rekindled : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;
    private readonly System.Text.StringBuilder _log = new();

    public Rekindled(string ns, string config)
    {
        _dir = Directory.CreateTempSubdirectory("rekindled-").FullName;
        Socket = Path.Combine(_dir, "rekindled.sock");
        var path = Path.Combine(_dir, "rekindled.toml");
        File.WriteAllText(path, config.Replace("@SOCKET@", Socket));
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "netns", "exec", ns, "dotnet", Path.Combine(AppContext.BaseDirectory, "rekindled.dll"), "--config", path, "--debug" })
            start.ArgumentList.Add(arg);
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            Shell.WaitFor(() => File.Exists(Socket) || _process.HasExited, TimeSpan.FromSeconds(20), "rekindled's control socket");
            if (_process.HasExited)
                throw new InvalidOperationException($"rekindled exited with {_process.ExitCode}: {Log}");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Socket { get; }
    public string Log { get { lock (_log) return _log.ToString(); } }
    public bool HasExited => _process.HasExited;

    /// <summary>Runs rekindlectl with the given arguments; returns exit code and output.</summary>
    public Shell.Result Ctl(params string[] args) =>
        Shell.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "rekindlectl.dll"), "--socket", Socket, .. args], TimeSpan.FromSeconds(60), check: false);

    public IReadOnlyList<IkeSaView> ListSas()
    {
        var result = Ctl("--json", "list-sas");
        var response = JsonSerializer.Deserialize<ControlResponse>(result.Output, ControlJson.Options)!;
        return response.Ok ? response.Sas! : throw new InvalidOperationException($"list-sas failed: {response.Error}");
    }

    /// <summary>SIGTERM, then wait for a clean exit (the daemon deletes its SAs first).</summary>
    public int Stop(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            Shell.Try("pkill", "-TERM", "-f", Path.Combine(_dir, "rekindled.toml"));
            if (!_process.WaitForExit(timeout))
                throw new TimeoutException("rekindled did not stop on SIGTERM");
        }
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Shell.Try("pkill", "-KILL", "-f", Path.Combine(_dir, "rekindled.toml"));
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A rekindled.toml for one connection (ids and subnets as in <see cref="TwoHostTopology"/>).</summary>
    public static string Config(string name, string local, string remote, string localId, string remoteId, string localTs, string remoteTs,
        string ike, string esp, string psk, string startAction = "listen", string dataplane = "none", string extra = "") => $"""
        [daemon]
        socket = "@SOCKET@"
        retransmit_timeout = 1
        retransmit_tries = 3
        dataplane = "{dataplane}"

        [connections.{name}]
        local_addrs = "{local}"
        remote_addrs = "{remote}"
        local_id = "{localId}"
        remote_id = "{remoteId}"
        psk = "{psk}"
        ike_proposals = "{ike}"
        esp_proposals = "{esp}"
        local_ts = "{localTs}"
        remote_ts = "{remoteTs}"
        start_action = "{startAction}"
        {extra}
        """;
}
