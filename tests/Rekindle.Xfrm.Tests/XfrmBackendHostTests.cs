using System.Net;
using System.Net.Sockets;
using Rekindle.Control.Config;
using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;
using Rekindle.Control.Kernel;
using Rekindle.Testbed;

namespace Rekindle.Xfrm.Tests;

/// <summary>
/// The XFRM back-end against this host's kernel, inside a network namespace: it has XFRM netlink but no ESP
/// transform, so these cover SPI allocation, policies, the monitor, bypass sockets and the error for an ESP SA.
/// The ESP path itself is proven in the QEMU guest.
/// </summary>
[Trait("Category", "Netns")]
public sealed class XfrmBackendHostTests : IDisposable
{
    private readonly TwoHostTopology _net = new();
    private static readonly IPAddress A = IPAddress.Parse(TwoHostTopology.AddressA), B = IPAddress.Parse(TwoHostTopology.AddressB);

    private XfrmBackend Backend() => NetworkNamespace.Run(_net.NamespaceA, () => new XfrmBackend(NullLog.Instance, installRoutes: false));

    private string Ip(params string[] args) => _net.Exec(_net.NamespaceA, TimeSpan.FromSeconds(10), ["ip", .. args]).Output;

    [Fact]
    public void AllocatesSpisAsLarvalStatesAndDeletesThem()
    {
        using var backend = Backend();
        uint first = backend.AllocateSpi(B, A, ProtocolId.Esp);
        uint second = backend.AllocateSpi(B, A, ProtocolId.Esp);
        Assert.NotEqual(first, second);
        Assert.InRange(first, 0xc0000000u, 0xcfffffffu);
        var states = Ip("xfrm", "state");
        Assert.Contains($"spi 0x{first:x8}", states);
        Assert.Contains($"spi 0x{second:x8}", states);
        backend.DeleteSa(new SaId(A, first));
        backend.DeleteSa(new SaId(A, first)); // gone already: not an error
        Assert.DoesNotContain($"spi 0x{first:x8}", Ip("xfrm", "state"));
        Assert.Contains($"spi 0x{second:x8}", Ip("xfrm", "state"));
    }

    [Fact]
    public void InstallsAndRemovesTunnelPolicies()
    {
        using var backend = Backend();
        var local = TrafficSelector.FromCidr("10.1.0.0/24");
        var remote = TrafficSelector.FromCidr("10.2.0.0/16");
        var policies = new[]
        {
            new PolicyParameters(PolicyDirection.Out, local, remote, A, B, 7),
            new PolicyParameters(PolicyDirection.In, remote, local, B, A, 7),
            new PolicyParameters(PolicyDirection.Forward, remote, local, B, A, 7),
        };
        foreach (var policy in policies)
            backend.AddPolicy(policy);
        backend.AddPolicy(policies[0]); // replacing is idempotent
        var listed = Ip("xfrm", "policy");
        Assert.Contains("src 10.1.0.0/24 dst 10.2.0.0/16", listed);
        Assert.Contains("dir out", listed);
        Assert.Contains("dir fwd", listed);
        Assert.Contains("tmpl src 192.0.2.1 dst 192.0.2.2", listed);
        Assert.Contains("proto esp reqid 7 mode tunnel", listed);
        foreach (var policy in policies)
            backend.DeletePolicy(policy);
        Assert.Equal("", Ip("xfrm", "policy").Trim());
    }

    [Fact]
    public void MarkedPoliciesCarryTheirMark()
    {
        using var backend = Backend();
        var policy = new PolicyParameters(PolicyDirection.Out, TrafficSelector.FromCidr("10.1.0.0/24"), TrafficSelector.FromCidr("10.2.0.0/24"), A, B, 5,
            Mark: XfrmMark.Parse("0x2a/0xff"));
        backend.AddPolicy(policy);
        Assert.Contains("mark 0x2a/0xff", Ip("xfrm", "policy"));
        backend.DeletePolicy(policy);
        Assert.Equal("", Ip("xfrm", "policy").Trim());
    }

    [Fact]
    public void AnEspSaNamesWhatTheKernelLacks()
    {
        using var backend = Backend();
        var suite = ChildCryptoSuite.FromProposal(ProposalParser.ParseEsp("aes256gcm16")[0]);
        var sa = new SaParameters(new SaId(B, 0xc1234567), SaDirection.Outbound, new IPEndPoint(A, 4500), new IPEndPoint(B, 4500), suite,
            new byte[36], [], [TrafficSelector.FromCidr("10.1.0.0/24")], [TrafficSelector.FromCidr("10.2.0.0/24")], true, 9);
        bool kernelHasEsp = File.ReadAllText("/proc/crypto").Contains("rfc4106") || Directory.Exists("/sys/module/esp4");
        if (kernelHasEsp)
        {
            backend.AddSa(sa);
            Assert.NotNull(backend.QuerySa(sa.Id));
            backend.DeleteSa(sa.Id);
            Assert.Null(backend.QuerySa(sa.Id));
        }
        else
        {
            var error = Assert.Throws<SaBackendException>(() => backend.AddSa(sa));
            Assert.Contains("XFRM_MSG_NEWSA", error.Message);
            Assert.Contains("esp4", error.Message);
            Assert.True(error.Errno != 0);
        }
    }

    [Fact]
    public void MonitorReportsAcquireForTrafficHittingATrapPolicy()
    {
        using var backend = Backend();
        var acquired = new TaskCompletionSource<SaAcquire>();
        backend.Acquired += a => acquired.TrySetResult(a);
        NetworkNamespace.Run(_net.NamespaceA, () => { backend.StartMonitor(); return 0; });
        backend.AddPolicy(new PolicyParameters(PolicyDirection.Out, TrafficSelector.FromCidr("10.1.0.0/24"), TrafficSelector.FromCidr("10.9.0.0/24"), A, B, 11));
        _net.Exec(_net.NamespaceA, TimeSpan.FromSeconds(10), "ip", "route", "add", "10.9.0.0/24", "via", TwoHostTopology.AddressB);
        _net.Exec(_net.NamespaceA, TimeSpan.FromSeconds(10), "ping", "-c", "1", "-W", "1", "-I", "10.1.0.1", "10.9.0.1");
        Assert.True(acquired.Task.Wait(TimeSpan.FromSeconds(10)), "no ACQUIRE from the kernel");
        Assert.Equal("10.1.0.1/32", acquired.Task.Result.Source.ToString());
        Assert.Equal("10.9.0.1/32", acquired.Task.Result.Destination.ToString());
    }

    [Fact]
    public void IkeSocketsBypassPolicies()
    {
        NetworkNamespace.Run(_net.NamespaceA, () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(A, 0));
            XfrmBackend.BypassSocket(socket);
            return 0;
        });
    }

    public void Dispose() => _net.Dispose();
}
