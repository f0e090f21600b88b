using Rekindle.Testbed;

namespace Rekindle.Integration.Tests;

/// <summary>Two rekindled daemons in two namespaces over real UDP sockets: start_action, up/down, and a bad config refused.</summary>
[Trait("Category", "Netns")]
public sealed class RekindledPairTests : IDisposable
{
    private const string Psk = "pair-test-psk-0123456789";
    private readonly TwoHostTopology _net = new();
    private readonly List<IDisposable> _processes = [];

    private Rekindled Start(string ns, string config)
    {
        var daemon = new Rekindled(ns, config);
        _processes.Add(daemon);
        return daemon;
    }

    [Fact]
    public void StartActionInitiateEstablishesAndDownRemovesBothSides()
    {
        var b = Start(_net.NamespaceB, Rekindled.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
            "gwb.test.example", "gwa.test.example", "10.2.0.0/24", "10.1.0.0/24", "aes128-sha256-modp2048", "aes128-sha256", Psk));
        var a = Start(_net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
            "gwa.test.example", "gwb.test.example", "10.1.0.0/24", "10.2.0.0/24", "aes128-sha256-modp2048", "aes128-sha256", Psk, startAction: "initiate"));
        Shell.WaitFor(() => a.ListSas() is [{ State: "ESTABLISHED", Children.Count: 1 }] && b.ListSas() is [{ State: "ESTABLISHED", Children.Count: 1 }],
            TimeSpan.FromSeconds(20), "start_action = initiate to establish");
        var sa = a.ListSas()[0];
        var peer = b.ListSas()[0];
        Assert.Equal((sa.InitiatorSpi, sa.ResponderSpi), (peer.InitiatorSpi, peer.ResponderSpi));
        Assert.Equal(sa.Children[0].SpiIn, peer.Children[0].SpiOut);
        Assert.Equal(500, sa.RemotePort); // no NAT between two rekindled
        Assert.False(sa.Children[0].UdpEncapsulation);

        var listed = a.Ctl("list-sas");
        Assert.Contains($"a-b: #1, ESTABLISHED, IKEv2, {sa.InitiatorSpi}_i* {sa.ResponderSpi}_r", listed.Output);
        Assert.Contains("AES_CBC-128/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048", listed.Output);

        var down = b.Ctl("down", "b-a");
        Assert.True(down.ExitCode == 0, down.All);
        Shell.WaitFor(() => a.ListSas().Count == 0 && b.ListSas().Count == 0, TimeSpan.FromSeconds(10), "both sides to remove the SAs");

        Assert.Equal(1, a.Ctl("down", "a-b").ExitCode); // nothing left to delete: a clear error
        Assert.Contains("no IKE_SA named 'a-b'", a.Ctl("down", "a-b").Error);
        Assert.Contains("no connection named 'nope'", a.Ctl("up", "nope").Error);
    }

    [Fact]
    public void UnreachablePeerFailsAfterRetransmits()
    {
        var a = Start(_net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
            "gwa.test.example", "gwb.test.example", "10.1.0.0/24", "10.2.0.0/24", "aes256gcm16-prfsha256-x25519", "aes256gcm16", Psk));
        var up = a.Ctl("up", "a-b", "--timeout", "30");
        Assert.Equal(1, up.ExitCode);
        Assert.Contains("peer did not answer IkeSaInit request 0 after 3 retransmits", up.Error);
        Assert.Empty(a.ListSas());
    }

    [Fact]
    public void ABadConfigurationIsRefusedWithFileLineAndKey()
    {
        var dir = Directory.CreateTempSubdirectory("rekindle-config-");
        try
        {
            var path = Path.Combine(dir.FullName, "rekindled.toml");
            File.WriteAllText(path, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
                "gwa.test.example", "gwb.test.example", "10.1.0.0/24", "10.2.0.0/24", "aes256-sha256-modp1023", "aes256gcm16", Psk));
            var result = Shell.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, "rekindled.dll"), "--config", path], TimeSpan.FromSeconds(30), check: false);
            Assert.Equal(1, result.ExitCode);
            int line = File.ReadAllLines(path).ToList().FindIndex(l => l.Contains("ike_proposals")) + 1;
            Assert.Contains($"{path}:{line}: connections.a-b.ike_proposals: unknown algorithm 'modp1023'", result.Error);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    public void Dispose()
    {
        foreach (var process in _processes)
            process.Dispose();
        _net.Dispose();
    }
}
