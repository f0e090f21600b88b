namespace Rekindle.Testbed;

/// <summary>
/// Two network namespaces joined by a veth pair: A = 192.0.2.1, B = 192.0.2.2, with the protected subnets'
/// first addresses (10.1.0.1, 10.2.0.1) on their loopbacks. Everything is removed on dispose, also after a failure.
/// </summary>
public sealed class TwoHostTopology : IDisposable
{
    public const string AddressA = "192.0.2.1", AddressB = "192.0.2.2";

    public TwoHostTopology()
    {
        if (!Shell.IsRoot)
            throw new InvalidOperationException("network namespace tests need root (CAP_NET_ADMIN)");
        var id = Guid.NewGuid().ToString("N")[..6];
        NamespaceA = $"rk-{id}-a";
        NamespaceB = $"rk-{id}-b";
        DeviceA = $"rk{id}a";
        DeviceB = $"rk{id}b";
        try
        {
            Shell.Run("ip", "netns", "add", NamespaceA);
            Shell.Run("ip", "netns", "add", NamespaceB);
            Shell.Run("ip", "link", "add", $"rk{id}a", "netns", NamespaceA, "type", "veth", "peer", "name", $"rk{id}b", "netns", NamespaceB);
            Setup(NamespaceA, $"rk{id}a", AddressA, "10.1.0.1");
            Setup(NamespaceB, $"rk{id}b", AddressB, "10.2.0.1");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string NamespaceA { get; }
    public string NamespaceB { get; }
    /// <summary>The veth ends in A and in B.</summary>
    public string DeviceA { get; }
    public string DeviceB { get; }

    private static void Setup(string ns, string device, string address, string inner)
    {
        Shell.Run("ip", "-n", ns, "addr", "add", $"{address}/24", "dev", device);
        Shell.Run("ip", "-n", ns, "link", "set", device, "up");
        Shell.Run("ip", "-n", ns, "link", "set", "lo", "up");
        Shell.Run("ip", "-n", ns, "addr", "add", $"{inner}/32", "dev", "lo");
        // and an IPv6 address in 2001:db8:1::/64 (A) or 2001:db8:2::/64 (B) for dual-stack selectors
        Shell.Run("ip", "-n", ns, "addr", "add", inner == "10.1.0.1" ? "2001:db8:1::1/128" : "2001:db8:2::1/128", "dev", "lo", "nodad");
    }

    /// <summary>Runs a command inside namespace A or B.</summary>
    public Shell.Result Exec(string ns, TimeSpan timeout, params string[] command) =>
        Shell.Run("ip", ["netns", "exec", ns, .. command], timeout, check: false);

    /// <summary>Pings from the protected address of one side to the other's.</summary>
    public Shell.Result Ping(bool fromA, int count = 3) => fromA
        ? Exec(NamespaceA, TimeSpan.FromSeconds(30), "ping", "-c", count.ToString(), "-i", "0.2", "-W", "2", "-I", "10.1.0.1", "10.2.0.1")
        : Exec(NamespaceB, TimeSpan.FromSeconds(30), "ping", "-c", count.ToString(), "-i", "0.2", "-W", "2", "-I", "10.2.0.1", "10.1.0.1");

    /// <summary>Pings over IPv6 between the protected addresses 2001:db8:1::1 and 2001:db8:2::1.</summary>
    public Shell.Result Ping6(bool fromA, int count = 3) => fromA
        ? Exec(NamespaceA, TimeSpan.FromSeconds(30), "ping", "-6", "-c", count.ToString(), "-i", "0.2", "-W", "2", "-I", "2001:db8:1::1", "2001:db8:2::1")
        : Exec(NamespaceB, TimeSpan.FromSeconds(30), "ping", "-6", "-c", count.ToString(), "-i", "0.2", "-W", "2", "-I", "2001:db8:2::1", "2001:db8:1::1");

    /// <summary>An iperf3 TCP transfer between the protected addresses; returns the receiver's bits per second.</summary>
    public double Iperf(bool fromA, int seconds = 2, params string[] extra)
    {
        var (server, client, serverAddress, clientAddress) = fromA
            ? (NamespaceB, NamespaceA, "10.2.0.1", "10.1.0.1")
            : (NamespaceA, NamespaceB, "10.1.0.1", "10.2.0.1");
        var port = Random.Shared.Next(20000, 30000).ToString();
        using var listener = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ip",
            ["netns", "exec", server, "iperf3", "-s", "-1", "-B", serverAddress, "-p", port]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            Shell.WaitFor(() => Exec(server, TimeSpan.FromSeconds(10), "ss", "-ltn", $"sport = :{port}").Output.Contains(port) || listener.HasExited,
                TimeSpan.FromSeconds(10), "the iperf3 server");
            var result = Exec(client, TimeSpan.FromSeconds(seconds + 30), ["iperf3", "-c", serverAddress, "-B", clientAddress, "-p", port, "-t", seconds.ToString(), "-J", .. extra]);
            if (result.ExitCode != 0)
                throw new InvalidOperationException($"iperf3 failed: {result.All}");
            using var json = System.Text.Json.JsonDocument.Parse(result.Output);
            return json.RootElement.GetProperty("end").GetProperty("sum_received").GetProperty("bits_per_second").GetDouble();
        }
        finally
        {
            if (!listener.HasExited)
                listener.Kill();
            listener.WaitForExit(5000);
        }
    }

    public void Dispose()
    {
        Shell.Try("ip", "netns", "del", NamespaceA);
        Shell.Try("ip", "netns", "del", NamespaceB);
    }
}
