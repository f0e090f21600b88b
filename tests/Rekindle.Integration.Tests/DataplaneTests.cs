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

    private (Rekindled A, Rekindled B) TwoRekindled(string esp = "aes256gcm16", string extraA = "")
    {
        var b = Track(new Rekindled(_net.NamespaceB, Rekindled.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
            "gwb.test.example", "gwa.test.example", "10.2.0.0/24", "10.1.0.0/24", "aes256gcm16-prfsha256-x25519", esp, Psk, dataplane: "userspace")));
        var a = Track(new Rekindled(_net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
            "gwa.test.example", "gwb.test.example", "10.1.0.0/24", "10.2.0.0/24", "aes256gcm16-prfsha256-x25519", esp, Psk, dataplane: "userspace", extra: extraA)));
        var up = a.Ctl("up", "a-b");
        Assert.True(up.ExitCode == 0, up.All + a.Log + b.Log);
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

    public void Dispose()
    {
        foreach (var process in _processes.AsEnumerable().Reverse())
            process.Dispose();
        _net.Dispose();
    }
}
