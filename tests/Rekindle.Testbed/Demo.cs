namespace Rekindle.Testbed;

/// <summary>
/// Two namespaces joined by a veth pair; rekindled (userspace ESP data plane) in A, strongSwan's charon (kernel-libipsec)
/// in B. rekindled initiates an IKE SA with a CHILD SA, both sides list their SAs, hosts behind them ping each other
/// through the tunnel, then charon initiates the other way round, and everything is removed.
/// </summary>
public static class Demo
{
    private const string Psk = "rekindle-demo-psk-0123456789";

    public static int Run(TextWriter output)
    {
        using var net = new TwoHostTopology();
        output.WriteLine($"== namespaces {net.NamespaceA} (192.0.2.1, protects 10.1.0.0/24) and {net.NamespaceB} (192.0.2.2, protects 10.2.0.0/24)");
        using var charon = new Charon(net.NamespaceB, Charon.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
            "gwb.demo.example", "gwa.demo.example", "10.2.0.0/24", "10.1.0.0/24", "aes256gcm16-prfsha256-x25519", "aes256gcm16", Psk));
        using var rekindled = new Rekindled(net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
            "gwa.demo.example", "gwb.demo.example", "10.1.0.0/24", "10.2.0.0/24", "aes256gcm16-prfsha256-x25519", "aes256gcm16", Psk, dataplane: "userspace"));
        output.WriteLine("== strongSwan charon (kernel-libipsec) runs in B, rekindled (dataplane = \"userspace\") in A");

        int failures = 0;
        failures += Step(output, "rekindlectl up a-b", rekindled.Ctl("up", "a-b"));
        failures += Step(output, "rekindlectl list-sas (A)", rekindled.Ctl("list-sas"));
        failures += Step(output, "swanctl --list-sas (B)", charon.Swanctl("--list-sas"));
        failures += Step(output, "ping 10.1.0.1 -> 10.2.0.1 through the tunnel (A)", net.Ping(fromA: true));
        failures += Step(output, "ping 10.2.0.1 -> 10.1.0.1 through the tunnel (B)", net.Ping(fromA: false));
        failures += Step(output, "rekindlectl stats (A)", rekindled.Ctl("stats"));
        failures += Step(output, "rekindlectl down a-b", rekindled.Ctl("down", "a-b"));

        failures += Step(output, "swanctl --initiate --ike b-a --child net (B initiates)", charon.Swanctl("--initiate", "--ike", "b-a", "--child", "net"));
        failures += Step(output, "rekindlectl list-sas (A, now responder)", rekindled.Ctl("list-sas"));
        failures += Step(output, "ping 10.2.0.1 -> 10.1.0.1 through the new tunnel (B)", net.Ping(fromA: false));
        failures += Step(output, "swanctl --terminate --ike b-a", charon.Swanctl("--terminate", "--ike", "b-a"));
        Shell.WaitFor(() => rekindled.ListSas().Count == 0, TimeSpan.FromSeconds(10), "rekindled to remove the SAs");
        failures += Step(output, "rekindlectl list-sas (A, after the delete)", rekindled.Ctl("list-sas"));

        output.WriteLine(failures == 0 ? "== demo completed: namespaces, processes and SAs are removed on exit" : $"== demo: {failures} step(s) failed");
        return failures == 0 ? 0 : 1;
    }

    private static int Step(TextWriter output, string title, Shell.Result result)
    {
        output.WriteLine($"\n$ {title}");
        output.Write(result.All.TrimEnd() + "\n");
        return result.ExitCode == 0 ? 0 : 1;
    }
}
