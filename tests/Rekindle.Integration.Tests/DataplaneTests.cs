using Rekindle.Testbed;

namespace Rekindle.Integration.Tests;

/// <summary>
/// Traffic through the userspace ESP data plane: between two rekindled gateways (raw ESP, no NAT) and between
/// rekindled and strongSwan's kernel-libipsec (ESP-in-UDP, NAT faked), started from either side.
/// </summary>
[Trait("Category", "Netns")]
public sealed class DataplaneTests : IDisposable
{
    private const string Psk = "dataplane-test-psk-0123456789";
    private readonly TwoHostTopology _net = new();
    private readonly List<IDisposable> _processes = [];

    private T Track<T>(T process) where T : IDisposable
    {
        _processes.Add(process);
        return process;
    }

    /// <summary>Two rekindled gateways, B listening, A brought up unless told otherwise.</summary>
    private (Rekindled A, Rekindled B) TwoRekindled(string esp = "aes256gcm16", string extraA = "", string dataplaneA = "userspace",
        string dataplaneB = "userspace", bool up = true, string tsA = "10.1.0.0/24", string tsB = "10.2.0.0/24")
    {
        var b = Track(new Rekindled(_net.NamespaceB, Rekindled.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
            "gwb.test.example", "gwa.test.example", tsB, tsA, "aes256gcm16-prfsha256-x25519", esp, Psk, dataplane: dataplaneB)));
        var a = Track(new Rekindled(_net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
            "gwa.test.example", "gwb.test.example", tsA, tsB, "aes256gcm16-prfsha256-x25519", esp, Psk, dataplane: dataplaneA, extra: extraA)));
        if (up)
        {
            var result = a.Ctl("up", "a-b");
            Assert.True(result.ExitCode == 0, result.All + a.Log + b.Log);
        }
        return (a, b);
    }

    [Theory]
    [InlineData("aes256gcm16")]
    [InlineData("aes128-sha256")]
    [InlineData("aes256gcm16-esn")]
    public void PingAndTcpBetweenTwoRekindledGateways(string esp)
    {
        var (a, b) = TwoRekindled(esp);
        var ping = _net.Ping(fromA: true);
        Assert.True(ping.ExitCode == 0, ping.All + a.Log);
        Assert.True(_net.Ping(fromA: false).ExitCode == 0);
        Assert.True(_net.Iperf(fromA: true) > 10e6);
        Assert.True(_net.Iperf(fromA: false) > 10e6);

        var stats = a.Ctl("--json", "stats");
        Assert.Contains("\"direction\":\"in\"", stats.Output);
        var sa = a.ListSas().Single();
        Assert.False(sa.Children[0].UdpEncapsulation); // no NAT between them: raw ESP
        Assert.Contains("raw ESP", a.Log);
    }

    [Fact]
    public void DualStackSelectorsCarryIpv4AndIpv6InOneChildSa()
    {
        var (a, _) = TwoRekindled(tsA: "10.1.0.0/24, 2001:db8:1::/64", tsB: "10.2.0.0/24, 2001:db8:2::/64");
        Assert.Equal(2, a.ListSas().Single().Children.Single().LocalTs.Count);
        var ping6 = _net.Ping6(fromA: true);
        Assert.True(ping6.ExitCode == 0, ping6.All + a.Log);
        Assert.Equal(0, _net.Ping6(fromA: false).ExitCode);
        Assert.Equal(0, _net.Ping(fromA: true).ExitCode);
    }

    [Fact]
    public void PingAndTcpWithStrongSwanKernelLibipsec()
    {
        var charon = Track(new Charon(_net.NamespaceB, Charon.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
            "gwb.test.example", "gwa.test.example", "10.2.0.0/24", "10.1.0.0/24", "aes256gcm16-prfsha256-x25519", "aes256gcm16", Psk)));
        var a = Track(new Rekindled(_net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
            "gwa.test.example", "gwb.test.example", "10.1.0.0/24", "10.2.0.0/24", "aes256gcm16-prfsha256-x25519", "aes256gcm16", Psk, dataplane: "userspace")));

        // charon initiates this time; traffic then starts from either side.
        var up = charon.Swanctl("--initiate", "--ike", "b-a", "--child", "net");
        Assert.True(up.ExitCode == 0, up.All + a.Log);
        var ping = _net.Ping(fromA: false);
        Assert.True(ping.ExitCode == 0, ping.All + a.Log + charon.Log);
        Assert.True(_net.Ping(fromA: true).ExitCode == 0);
        Assert.True(_net.Iperf(fromA: true) > 10e6);
        Assert.True(_net.Iperf(fromA: false) > 10e6);
        Assert.True(a.ListSas().Single().Children[0].UdpEncapsulation);
    }

    [Fact]
    public void ReplayedAndTamperedEspIsDroppedAndCountedAndTheTunnelKeepsWorking()
    {
        var (a, b) = TwoRekindled();
        var dir = Directory.CreateTempSubdirectory("rekindle-replay-");
        try
        {
            // Capture three real ESP packets as A sends them.
            var pcap = Path.Combine(dir.FullName, "esp.pcap");
            using var tcpdump = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ip",
                ["netns", "exec", _net.NamespaceA, "tcpdump", "-i", _net.DeviceA, "-U", "-c", "3", "-w", pcap, "ip proto 50 and src host 192.0.2.1"])
                { RedirectStandardError = true, RedirectStandardOutput = true })!;
            Shell.WaitFor(() => tcpdump.StandardError.Peek() >= 0 || tcpdump.HasExited, TimeSpan.FromSeconds(10), "tcpdump to start");
            Assert.Equal(0, _net.Ping(fromA: true, count: 3).ExitCode);
            Assert.True(tcpdump.WaitForExit(10000), "tcpdump did not see three ESP packets");
            var before = InboundStats(b);

            // Replay them (3 x 3), then tamper with their sequence numbers so that they pass the window but not the ICV.
            Resend(pcap, times: 3);
            Resend(pcap, times: 1, flip: 14 + 20 + 4);
            Shell.WaitFor(() => InboundStats(b).ReplayDrops >= before.ReplayDrops + 9 && InboundStats(b).IntegrityFailures >= before.IntegrityFailures + 3,
                TimeSpan.FromSeconds(10), "B to count the replayed and tampered packets");
            var after = InboundStats(b);
            Assert.Equal(before.Packets, after.Packets); // none of them was delivered
            Assert.Equal(before.ReplayDrops + 9, after.ReplayDrops);
            Assert.Equal(before.IntegrityFailures + 3, after.IntegrityFailures);

            // The tunnel keeps working: tampered sequence numbers did not move the window.
            Assert.Equal(0, _net.Ping(fromA: true).ExitCode);
            Assert.Contains("replay-drops 9  integrity-failures 3", b.Ctl("stats").Output);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void CaptureDecryptsInTsharkWithTheExportedKeys()
    {
        var (a, _) = TwoRekindled("aes128-sha256", extraA: "encap = true", up: false);
        var dir = Directory.CreateTempSubdirectory("rekindle-capture-");
        try
        {
            var pcap = Path.Combine(dir.FullName, "a-b.pcapng");
            var capture = Task.Run(() => a.Ctl("capture", "a-b", "--out", pcap, "--seconds", "6"));
            Shell.WaitFor(() => a.Log.Contains("capturing IKE and ESP traffic"), TimeSpan.FromSeconds(10), "the capture to start");
            Assert.Equal(0, a.Ctl("up", "a-b").ExitCode);
            Assert.Equal(0, _net.Ping(fromA: true, count: 3).ExitCode);
            var captured = capture.Result;
            Assert.True(captured.ExitCode == 0, captured.All);
            Assert.Matches(@"captured \d+ packet\(s\) on .*: [1-9]\d* IKE, [1-9]\d* ESP", captured.Output);

            var keys = Path.Combine(dir.FullName, "profile");
            var exported = a.Ctl("keys", "--wireshark", keys);
            Assert.True(exported.ExitCode == 0, exported.All);
            var environment = new Dictionary<string, string> { ["WIRESHARK_CONFIG_DIR"] = keys, ["HOME"] = dir.FullName };
            var icmp = Shell.Run("tshark", ["-r", pcap, "-o", "esp.enable_encryption_decode:TRUE", "-Y", "icmp"], TimeSpan.FromSeconds(60), check: true, environment);
            Assert.Equal(6, icmp.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains("10.1.0.1") && l.Contains("10.2.0.1")));
            // IDi and IDr travel inside the encrypted IKE_AUTH payloads: tshark shows them only if it decrypted them.
            var ike = Shell.Run("tshark", ["-r", pcap, "-Y", "isakmp.exchangetype == 35", "-T", "fields", "-e", "isakmp.id.data.fqdn"],
                TimeSpan.FromSeconds(60), check: true, environment);
            Assert.Contains("gwa.test.example", ike.Output);
            Assert.Contains("gwb.test.example", ike.Output);
            var withoutKeys = Shell.Run("tshark", ["-r", pcap, "-Y", "isakmp.exchangetype == 35", "-T", "fields", "-e", "isakmp.id.data.fqdn"],
                TimeSpan.FromSeconds(60), check: true, new Dictionary<string, string> { ["WIRESHARK_CONFIG_DIR"] = dir.FullName, ["HOME"] = dir.FullName });
            Assert.DoesNotContain("gwa.test.example", withoutKeys.Output);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void AutoChoosesUserspaceOnAKernelWithoutEspAndSaysWhy()
    {
        var (a, b) = TwoRekindled(dataplaneA: "xfrm", dataplaneB: "auto", up: false);
        Shell.WaitFor(() => b.Log.Contains("SA back-end 'userspace'"), TimeSpan.FromSeconds(10), "rekindled B to report its back-end");
        Assert.Contains("dataplane = \"auto\": using the userspace back-end, the kernel cannot hold an ESP SA", b.Log);
        Assert.Contains("load esp4", b.Log);
        // The xfrm back-end on this kernel: the IKE SA comes up, the CHILD SA is refused with the cause named.
        var up = a.Ctl("up", "a-b");
        Assert.Equal(1, up.ExitCode);
        Assert.Contains("CHILD_SA net failed", up.Error);
        Shell.WaitFor(() => a.Log.Contains("CHILD_SA net not installed"), TimeSpan.FromSeconds(10), "rekindled A to log the refused CHILD SA");
        Assert.Contains("XFRM_MSG_UPDSA", a.Log);
        Assert.Contains("load esp4", a.Log);
        Assert.Equal("ESTABLISHED", a.ListSas().Single().State);
    }

    private void Resend(string pcap, int times, int flip = -1)
    {
        var result = _net.Exec(_net.NamespaceA, TimeSpan.FromSeconds(30), "dotnet", Path.Combine(AppContext.BaseDirectory, "Rekindle.Testbed.dll"),
            "resend", "--iface", _net.DeviceA, "--pcap", pcap, "--times", times.ToString(), "--flip", flip.ToString());
        Assert.True(result.ExitCode == 0, result.All);
    }

    private static Rekindle.Appliance.ControlSocket.SaStatsView InboundStats(Rekindled daemon)
    {
        var response = System.Text.Json.JsonSerializer.Deserialize<Rekindle.Appliance.ControlSocket.ControlResponse>(
            daemon.Ctl("--json", "stats").Output, Rekindle.Appliance.ControlSocket.ControlJson.Options)!;
        return response.Stats!.Single(s => s.Direction == "in");
    }

    public void Dispose()
    {
        foreach (var process in _processes.AsEnumerable().Reverse())
            process.Dispose();
        _net.Dispose();
    }
}
