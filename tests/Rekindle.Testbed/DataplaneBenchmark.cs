using System.Globalization;
using System.Text.RegularExpressions;

namespace Rekindle.Testbed;

/// <summary>
/// ./build.ps1 bench dataplane: single-tunnel TCP throughput with 1400-octet packets (MSS 1360) between two
/// namespaces through two rekindled gateways (userspace ESP, AES-256-GCM), and in the same run the references:
/// strongSwan kernel-libipsec on the same topology, and `openssl speed -evp aes-256-gcm -bytes 1400` on one core.
/// </summary>
public static class DataplaneBenchmark
{
    private const string Psk = "benchmark-psk-0123456789";
    private const string Ike = "aes256gcm16-prfsha256-x25519", Esp = "aes256gcm16";

    public static int Run(TextWriter output, int seconds)
    {
        output.WriteLine($"dataplane benchmark: iperf3 TCP, MSS 1360 (1400-octet packets), {seconds} s per run, {Environment.ProcessorCount} cores");
        double rekindled = Measure(output, "rekindled userspace ESP", seconds, net =>
        {
            var b = new Rekindled(net.NamespaceB, Rekindled.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
                "gwb.bench", "gwa.bench", "10.2.0.0/24", "10.1.0.0/24", Ike, Esp, Psk, dataplane: "userspace"));
            var a = new Rekindled(net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
                "gwa.bench", "gwb.bench", "10.1.0.0/24", "10.2.0.0/24", Ike, Esp, Psk, dataplane: "userspace"));
            var up = a.Ctl("up", "a-b");
            if (up.ExitCode != 0)
                throw new InvalidOperationException($"rekindled did not come up: {up.All}");
            return [a, b];
        });
        double libipsec = Measure(output, "strongSwan kernel-libipsec", seconds, net =>
        {
            var b = new Charon(net.NamespaceB, Charon.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
                "gwb.bench", "gwa.bench", "10.2.0.0/24", "10.1.0.0/24", Ike, Esp, Psk));
            var a = new Charon(net.NamespaceA, Charon.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
                "gwa.bench", "gwb.bench", "10.1.0.0/24", "10.2.0.0/24", Ike, Esp, Psk));
            var up = a.Swanctl("--initiate", "--ike", "a-b", "--child", "net");
            if (up.ExitCode != 0)
                throw new InvalidOperationException($"charon did not come up: {up.All}");
            return [a, b];
        });
        double openssl = OpensslAesGcm(output);
        output.WriteLine();
        output.WriteLine($"rekindled userspace ESP     {rekindled / 1e9,8:0.000} Gbit/s");
        output.WriteLine($"strongSwan kernel-libipsec  {libipsec / 1e9,8:0.000} Gbit/s");
        output.WriteLine($"openssl aes-256-gcm 1400 B  {openssl / 1e9,8:0.000} Gbit/s (one core)");
        output.WriteLine($"ratio vs kernel-libipsec    {rekindled / libipsec,8:0.00}x   (goal >= 3x)");
        output.WriteLine($"ratio vs AES-GCM one core   {rekindled / openssl,8:0.00}    (goal >= 0.33)");
        return 0;
    }

    private static double Measure(TextWriter output, string name, int seconds, Func<TwoHostTopology, IDisposable[]> start)
    {
        using var net = new TwoHostTopology();
        var processes = start(net);
        try
        {
            if (net.Ping(fromA: true, count: 2).ExitCode != 0)
                throw new InvalidOperationException($"{name}: no ping through the tunnel");
            var results = Enumerable.Range(0, 3).Select(_ => net.Iperf(fromA: true, seconds, "-M", "1360")).ToList();
            double best = results.Max();
            output.WriteLine($"  {name}: {string.Join(", ", results.Select(r => (r / 1e9).ToString("0.000", CultureInfo.InvariantCulture)))} Gbit/s (best {best / 1e9:0.000})");
            return best;
        }
        finally
        {
            foreach (var process in processes.Reverse())
                process.Dispose();
        }
    }

    /// <summary>AES-256-GCM on 1400-octet buffers, one core, as bits per second.</summary>
    private static double OpensslAesGcm(TextWriter output)
    {
        var result = Shell.Run("openssl", ["speed", "-seconds", "3", "-evp", "aes-256-gcm", "-bytes", "1400"], TimeSpan.FromSeconds(60), check: true);
        var match = Regex.Match(result.Output, @"aes-256-gcm\s+([\d.]+)k", RegexOptions.IgnoreCase);
        if (!match.Success)
            throw new InvalidOperationException($"cannot read openssl speed output: {result.Output}");
        double bytesPerSecond = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) * 1000;
        output.WriteLine($"  openssl speed -evp aes-256-gcm -bytes 1400: {bytesPerSecond / 1e6:0} MB/s");
        return bytesPerSecond * 8;
    }
}
