using System.Net;
using Rekindle.Control.Config;
using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Kernel;
using Rekindle.Dataplane.Esp;

namespace Rekindle.Dataplane.Tests.Esp;

public class LifetimeTests
{
    private static OutboundSa Sa(SaLifetime life, long installed = 0)
    {
        var suite = ChildCryptoSuite.FromProposal(ProposalParser.ParseEsp("aes128gcm16")[0]);
        var endpoint = new IPEndPoint(IPAddress.Loopback, 4500);
        var parameters = new SaParameters(new SaId(IPAddress.Loopback, 0x1234), SaDirection.Outbound, endpoint, endpoint, suite,
            new byte[20], [], [TrafficSelector.FromCidr("10.1.0.0/24")], [TrafficSelector.FromCidr("10.2.0.0/24")], true, 1, Lifetime: life);
        return new OutboundSa(parameters, installed);
    }

    [Fact]
    public void ByteLimitsRaiseSoftThenHardOnce()
    {
        using var sa = Sa(new SaLifetime(SoftBytes: 3000, HardBytes: 5000));
        Assert.Equal(SaLifetimeEvent.None, sa.CountSent(1400));
        Assert.Equal(SaLifetimeEvent.None, sa.CountSent(1400));
        Assert.Equal(SaLifetimeEvent.Soft, sa.CountSent(1400));
        Assert.False(sa.Expired);
        Assert.Equal(SaLifetimeEvent.Hard, sa.CountSent(1400));
        Assert.True(sa.Expired);
        Assert.Equal(SaLifetimeEvent.None, sa.CountSent(1400));
    }

    [Fact]
    public void PacketAndTimeLimits()
    {
        using var byPackets = Sa(new SaLifetime(SoftPackets: 2, HardPackets: 3));
        Assert.Equal(SaLifetimeEvent.None, byPackets.CountSent(1));
        Assert.Equal(SaLifetimeEvent.Soft, byPackets.CountSent(1));
        Assert.Equal(SaLifetimeEvent.Hard, byPackets.CountSent(1));

        using var byTime = Sa(new SaLifetime(SoftTime: TimeSpan.FromSeconds(10), HardTime: TimeSpan.FromSeconds(20)), installed: 1_000);
        Assert.Equal(SaLifetimeEvent.None, byTime.CheckTime(5_000));
        Assert.Equal(SaLifetimeEvent.Soft, byTime.CheckTime(11_000));
        Assert.Equal(SaLifetimeEvent.None, byTime.CheckTime(12_000));
        Assert.Equal(SaLifetimeEvent.Hard, byTime.CheckTime(21_000));
    }
}
