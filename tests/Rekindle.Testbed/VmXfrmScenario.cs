using System.Text.RegularExpressions;

namespace Rekindle.Testbed;

/// <summary>
/// Runs inside the QEMU guest (a Debian kernel with ESP): rekindled with the xfrm back-end against another rekindled
/// and against strongSwan's charon (kernel-netlink), ping and TCP through kernel ESP, `ip -s xfrm state` counters,
/// and no SA or policy left after `down` and after daemon shutdown. Prints PASS/FAIL lines; exit status 0 when all pass.
/// </summary>
public static class VmXfrmScenario
{
    private const string Psk = "vm-xfrm-psk-0123456789";
    private const string Ike = "aes256gcm16-prfsha256-x25519";

    public static int Run(TextWriter output)
    {
        int failures = 0;
        void Check(bool ok, string what, string detail = "")
        {
            output.WriteLine($"{(ok ? "PASS" : "FAIL")} {what}{(ok || detail == "" ? "" : $": {detail}")}");
            if (!ok)
                failures++;
        }

        foreach (var esp in new[] { "aes256gcm16", "aes128-sha256" })
        {
            using var net = new TwoHostTopology();
            var b = new Rekindled(net.NamespaceB, Rekindled.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
                "gwb.vm", "gwa.vm", "10.2.0.0/24", "10.1.0.0/24", Ike, esp, Psk, dataplane: "xfrm"));
            var a = new Rekindled(net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
                "gwa.vm", "gwb.vm", "10.1.0.0/24", "10.2.0.0/24", Ike, esp, Psk, dataplane: "auto"));
            try
            {
                Check(a.Log.Contains("using the xfrm back-end") || WaitLog(a, "using the xfrm back-end"), $"[{esp}] auto chooses xfrm on a kernel with ESP");
                var up = a.Ctl("up", "a-b");
                Check(up.ExitCode == 0, $"[{esp}] rekindled pair up", up.All + a.Log);
                TrafficAndCounters(net, esp, "rekindled pair", Check);
                var down = a.Ctl("down", "a-b");
                Check(down.ExitCode == 0, $"[{esp}] down", down.All);
                CheckClean(net, $"[{esp}] after down", Check);

                Check(a.Ctl("up", "a-b").ExitCode == 0, $"[{esp}] up again");
                Check(a.Stop(TimeSpan.FromSeconds(60)) == 0, $"[{esp}] rekindled stops on SIGTERM");
                Shell.WaitFor(() => b.ListSas().Count == 0, TimeSpan.FromSeconds(30), "the peer to see the delete");
                CheckClean(net, $"[{esp}] after daemon shutdown", Check);
            }
            catch (Exception e)
            {
                Check(false, $"[{esp}] rekindled pair", e.Message + "\n" + a.Log + b.Log);
            }
            finally
            {
                a.Dispose();
                b.Dispose();
            }
        }

        {
            using var net = new TwoHostTopology();
            var charon = new Charon(net.NamespaceB, Charon.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
                "gwb.vm", "gwa.vm", "10.2.0.0/24", "10.1.0.0/24", Ike, "aes256gcm16", Psk, encap: false), kernelEsp: true);
            var a = new Rekindled(net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
                "gwa.vm", "gwb.vm", "10.1.0.0/24", "10.2.0.0/24", Ike, "aes256gcm16", Psk, dataplane: "xfrm"));
            try
            {
                var up = charon.Swanctl("--initiate", "--ike", "b-a", "--child", "net");
                Check(up.ExitCode == 0, "charon (kernel-netlink) initiates to rekindled (xfrm)", up.All + a.Log);
                TrafficAndCounters(net, "aes256gcm16", "rekindled vs charon", Check);
                Check(a.Ctl("down", "a-b").ExitCode == 0, "rekindled down against charon");
                Shell.WaitFor(() => charon.ListSas().Count == 0, TimeSpan.FromSeconds(30), "charon to see the delete");
                CheckClean(net, "rekindled vs charon after down", Check);
            }
            catch (Exception e)
            {
                Check(false, "rekindled vs charon", e.Message + "\n" + a.Log + charon.Log);
            }
            finally
            {
                a.Dispose();
                charon.Dispose();
            }
        }
        {
            // Kernel lifetimes: EXPIRE (soft, then hard) reaches the engine through the monitor; hard deletes the CHILD SA.
            using var net = new TwoHostTopology();
            var b = new Rekindled(net.NamespaceB, Rekindled.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
                "gwb.vm", "gwa.vm", "10.2.0.0/24", "10.1.0.0/24", Ike, "aes256gcm16", Psk, dataplane: "xfrm"));
            var a = new Rekindled(net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
                "gwa.vm", "gwb.vm", "10.1.0.0/24", "10.2.0.0/24", Ike, "aes256gcm16", Psk, dataplane: "xfrm",
                extra: "rekey_packets = 10\nlife_packets = 20"));
            try
            {
                Check(a.Ctl("up", "a-b").ExitCode == 0, "lifetimes: up");
                net.Ping(fromA: true, count: 30);
                Shell.WaitFor(() => a.Log.Contains("reached its hard lifetime"), TimeSpan.FromSeconds(60), "the hard EXPIRE");
                Check(a.Log.Contains("reached its soft lifetime"), "lifetimes: soft EXPIRE from the kernel reaches the engine");
                Shell.WaitFor(() => a.ListSas().Single().Children.Count == 0 && b.ListSas().Single().Children.Count == 0,
                    TimeSpan.FromSeconds(60), "the CHILD SA to be deleted on both sides");
                Check(true, "lifetimes: hard EXPIRE deletes the CHILD SA on both sides");
            }
            catch (Exception e)
            {
                Check(false, "lifetimes", e.Message + "\n" + a.Log);
            }
            finally
            {
                a.Dispose();
                b.Dispose();
            }
        }
        output.WriteLine(failures == 0 ? "VM XFRM: all passed" : $"VM XFRM: {failures} failed");
        return failures == 0 ? 0 : 1;
    }

    private static bool WaitLog(Rekindled daemon, string text)
    {
        try
        {
            Shell.WaitFor(() => daemon.Log.Contains(text), TimeSpan.FromSeconds(30), text);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static void TrafficAndCounters(TwoHostTopology net, string esp, string what, Action<bool, string, string> check)
    {
        var ping = net.Ping(fromA: true);
        check(ping.ExitCode == 0, $"[{esp}] {what}: ping A -> B through kernel ESP", ping.All);
        check(net.Ping(fromA: false).ExitCode == 0, $"[{esp}] {what}: ping B -> A", "");
        double bps = net.Iperf(fromA: true, seconds: 2);
        check(bps > 1e6, $"[{esp}] {what}: iperf3 TCP {bps / 1e6:0} Mbit/s", "");
        foreach (var ns in new[] { net.NamespaceA, net.NamespaceB })
        {
            var states = net.Exec(ns, TimeSpan.FromSeconds(10), "ip", "-s", "xfrm", "state").Output;
            var packets = Regex.Matches(states, @"(\d+)\(bytes\), (\d+)\(packets\)").Select(m => long.Parse(m.Groups[2].Value)).ToList();
            check(packets.Count == 2 && packets.All(p => p > 10), $"[{esp}] {what}: ip -s xfrm state counts packets in {ns} ({string.Join(", ", packets)})", states);
        }
    }

    private static void CheckClean(TwoHostTopology net, string what, Action<bool, string, string> check)
    {
        foreach (var ns in new[] { net.NamespaceA, net.NamespaceB })
        {
            var states = net.Exec(ns, TimeSpan.FromSeconds(10), "ip", "xfrm", "state").Output.Trim();
            // Per-socket bypass policies of the IKE daemons ("socket in/out") are expected; nothing else may stay.
            var policies = string.Join("\n", Regex.Split(net.Exec(ns, TimeSpan.FromSeconds(10), "ip", "xfrm", "policy").Output, @"\n(?=\S)")
                .Where(block => block.Trim() != "" && !Regex.IsMatch(block, @"\bsocket (in|out)\b")));
            check(states == "" && policies == "", $"{what}: no SA or policy left in {ns} (bypass policies aside)", states + policies);
        }
    }
}
