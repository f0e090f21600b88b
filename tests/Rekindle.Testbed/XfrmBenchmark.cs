using System.Diagnostics;
using System.Net;
using System.Text;
using Rekindle.Control.Config;
using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Kernel;
using Rekindle.Xfrm;

namespace Rekindle.Testbed;

/// <summary>
/// ./build.ps1 bench xfrm, inside the QEMU guest: installs N CHILD SA pairs with their in/out/fwd policies through
/// rekindled's netlink layer, and the same operations through `ip -batch`, each into a fresh namespace of the same
/// guest run, and prints both rates and their ratio.
/// </summary>
public static class XfrmBenchmark
{
    public static int Run(TextWriter output, int count)
    {
        var suite = ChildCryptoSuite.FromProposal(ProposalParser.ParseEsp("aes256gcm16")[0]);
        var key = new byte[36];
        Random.Shared.NextBytes(key);
        output.WriteLine($"xfrm benchmark: {count} CHILD SA pairs (inbound + outbound SA, in/out/fwd policies), AES-256-GCM, each into a fresh namespace");
        // Steady state for both: a first round in a throwaway namespace warms the JIT (slow under TCG) and the caches.
        Netlink(suite, key, Math.Min(count, 500), null);
        IpBatch(key, Math.Min(count, 500), null);
        double ours = Netlink(suite, key, count, output);
        double batch = IpBatch(key, count, output);
        output.WriteLine($"ratio rekindled / ip -batch: {ours / batch:0.00}x (goal >= 1)");
        return 0;
    }

    private static readonly IPAddress A = IPAddress.Parse("192.0.2.1"), B = IPAddress.Parse("192.0.2.2");

    private static double Netlink(ChildCryptoSuite suite, byte[] key, int count, TextWriter? output)
    {
        using var net = new TwoHostTopology();
        double rate = NetworkNamespace.Run(net.NamespaceA, () =>
        {
            using var backend = new XfrmBackend(NullLog.Instance, installRoutes: false);
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < count; i++)
            {
                var (local, remote) = Subnets(i);
                uint reqId = (uint)i + 1, spiIn = 0xc0000000u + (uint)i * 2, spiOut = spiIn + 1;
                backend.AddSa(new SaParameters(new SaId(A, spiIn), SaDirection.Inbound, new IPEndPoint(B, 0), new IPEndPoint(A, 0), suite, key, [],
                    [local], [remote], false, reqId));
                backend.AddSa(new SaParameters(new SaId(B, spiOut), SaDirection.Outbound, new IPEndPoint(A, 0), new IPEndPoint(B, 0), suite, key, [],
                    [local], [remote], false, reqId));
                backend.AddPolicy(new PolicyParameters(PolicyDirection.Out, local, remote, A, B, reqId));
                backend.AddPolicy(new PolicyParameters(PolicyDirection.In, remote, local, B, A, reqId));
                backend.AddPolicy(new PolicyParameters(PolicyDirection.Forward, remote, local, B, A, reqId));
            }
            return count / watch.Elapsed.TotalSeconds;
        });
        var installed = net.Exec(net.NamespaceA, TimeSpan.FromMinutes(5), "ip", "xfrm", "state", "count").Output.Trim();
        output?.WriteLine($"  rekindled netlink: {rate,8:0} pairs/s ({installed})");
        return rate;
    }

    private static double IpBatch(byte[] key, int count, TextWriter? output)
    {
        using var net = new TwoHostTopology();
        string hexKey = Convert.ToHexStringLower(key);
        var file = Path.GetTempFileName();
        try
        {
            var text = new StringBuilder();
            for (int i = 0; i < count; i++)
            {
                var (local, remote) = Subnets(i);
                uint reqId = (uint)i + 1, spiIn = 0xc0000000u + (uint)i * 2, spiOut = spiIn + 1;
                text.Append($"xfrm state add src {B} dst {A} proto esp spi 0x{spiIn:x8} reqid {reqId} mode tunnel replay-window 1024 aead 'rfc4106(gcm(aes))' 0x{hexKey} 128\n");
                text.Append($"xfrm state add src {A} dst {B} proto esp spi 0x{spiOut:x8} reqid {reqId} mode tunnel aead 'rfc4106(gcm(aes))' 0x{hexKey} 128\n");
                text.Append($"xfrm policy add src {local} dst {remote} dir out tmpl src {A} dst {B} proto esp reqid {reqId} mode tunnel\n");
                text.Append($"xfrm policy add src {remote} dst {local} dir in tmpl src {B} dst {A} proto esp reqid {reqId} mode tunnel\n");
                text.Append($"xfrm policy add src {remote} dst {local} dir fwd tmpl src {B} dst {A} proto esp reqid {reqId} mode tunnel\n");
            }
            File.WriteAllText(file, text.ToString());
            var watch = Stopwatch.StartNew();
            var result = net.Exec(net.NamespaceA, TimeSpan.FromMinutes(10), "ip", "-batch", file);
            double rate = count / watch.Elapsed.TotalSeconds;
            if (result.ExitCode != 0)
                throw new InvalidOperationException($"ip -batch failed: {result.All}");
            var installed = net.Exec(net.NamespaceA, TimeSpan.FromMinutes(5), "ip", "xfrm", "state", "count").Output.Trim();
            output?.WriteLine($"  ip -batch:         {rate,8:0} pairs/s ({installed})");
            return rate;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static (TrafficSelector Local, TrafficSelector Remote) Subnets(int i) =>
        (TrafficSelector.FromCidr($"10.{1 + i / 65536 % 100}.{i / 256 % 256}.{i % 256}/32"), TrafficSelector.FromCidr($"172.{16 + i / 65536 % 16}.{i / 256 % 256}.{i % 256}/32"));
}
