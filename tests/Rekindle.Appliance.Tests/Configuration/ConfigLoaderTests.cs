using System.Net;
using Rekindle.Appliance.Configuration;
using Rekindle.Control.Config;
using Rekindle.Control.Encoding;

namespace Rekindle.Appliance.Tests.Configuration;

public class ConfigLoaderTests
{
    private const string Valid = """
        [daemon]
        socket = "/tmp/r.sock"
        retransmit_timeout = "2s"
        retransmit_tries = 4
        cookie_threshold = 50

        [connections.a-b]
        local_addrs = "192.0.2.1"
        remote_addrs = "192.0.2.2"
        local_id = "gwa.example"
        remote_id = "@#0a0b"
        psk = "0123456789abcdef"
        ike_proposals = "aes128-sha256-modp2048, aes256gcm16-prfsha384-ecp384"
        esp_proposals = "aes256gcm16"
        local_ts = "10.1.0.0/24, 10.3.0.0/16"
        remote_ts = "10.2.0.5"
        start_action = "initiate"
        encap = true
        dpd_delay = "30s"
        mark_out = "0x2a/0xff"
        """;

    [Fact]
    public void ReadsAValidConfiguration()
    {
        var config = ConfigLoader.Parse(Valid, "rekindled.toml");
        Assert.Equal("/tmp/r.sock", config.Daemon.Socket);
        Assert.Equal(TimeSpan.FromSeconds(2), config.Engine.RetransmitTimeout);
        Assert.Equal(4, config.Engine.RetransmitTries);
        Assert.Equal(50, config.Engine.CookieThreshold);
        var c = Assert.Single(config.Connections);
        Assert.Equal("a-b", c.Name);
        Assert.Equal(IPAddress.Parse("192.0.2.2"), c.RemoteAddress);
        Assert.Equal(IdType.Fqdn, c.LocalId.Type);
        Assert.Equal(new Identity(IdType.KeyId, [0x0a, 0x0b]), c.RemoteId);
        Assert.Equal(2, c.IkeProposals.Count);
        Assert.Equal(["10.1.0.0/24", "10.3.0.0/16"], c.LocalTs.Select(t => t.ToString()));
        Assert.Equal("10.2.0.5/32", c.RemoteTs.Single().ToString());
        Assert.Equal(StartAction.Initiate, c.StartAction);
        Assert.True(c.ForceEncap);
        Assert.Equal(TimeSpan.FromSeconds(30), c.DpdDelay);
        Assert.Equal(new Rekindle.Control.Kernel.XfrmMark(0x2a, 0xff), c.MarkOut);
        Assert.Null(c.MarkIn);
    }

    [Theory]
    [InlineData("ike_proposals = \"aes128-sha256-modp2048, aes256gcm16-prfsha384-ecp384\"", "ike_proposals = \"aes256-md5-modp2048\"",
        "rekindled.toml:13: connections.a-b.ike_proposals: unknown algorithm 'md5' in Ike proposal 'aes256-md5-modp2048'")]
    [InlineData("local_ts = \"10.1.0.0/24, 10.3.0.0/16\"", "local_ts = \"10.1.0.0/33\"",
        "rekindled.toml:15: connections.a-b.local_ts: '10.1.0.0/33' is not a subnet such as 10.1.0.0/24")]
    [InlineData("encap = true", "encapsulation = true",
        "rekindled.toml:18: connections.a-b.encapsulation: unknown setting")]
    [InlineData("psk = \"0123456789abcdef\"", "", "rekindled.toml:7: connections.a-b.psk: missing required setting")]
    [InlineData("psk = \"0123456789abcdef\"", "psk = \"short\"", "rekindled.toml:12: connections.a-b.psk: pre-shared key is shorter than 8 characters")]
    [InlineData("retransmit_tries = 4", "retransmit_tries = \"four\"", "rekindled.toml:4: daemon.retransmit_tries: expected a number")]
    [InlineData("remote_addrs = \"192.0.2.2\"", "remote_addrs = \"192.0.2\"", "rekindled.toml:9: connections.a-b.remote_addrs: '192.0.2' is not an IP address")]
    [InlineData("[daemon]", "[deamon]", "rekindled.toml:1: deamon: unknown table (expected [daemon] or [connections.NAME])")]
    [InlineData("start_action = \"initiate\"", "start_action = \"sometimes\"", "rekindled.toml:17: connections.a-b.start_action: 'sometimes' is not one of: initiate, listen, trap")]
    [InlineData("esp_proposals = \"aes256gcm16\"", "esp_proposals = \"aes256\"", "rekindled.toml:14: connections.a-b.esp_proposals: Esp proposal 'aes256' needs an integrity algorithm for aes256")]
    public void RefusesABadConfigurationNamingFileLineAndKey(string replace, string with, string expected)
    {
        var text = Valid.Replace(replace, with);
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(text, "rekindled.toml"));
        Assert.StartsWith(expected, error.Message);
    }

    [Fact]
    public void RefusesTomlSyntaxErrorsWithTheLine()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Valid.Replace("retransmit_tries = 4", "retransmit_tries = = 4"), "x.toml"));
        Assert.StartsWith("x.toml:4: ", error.Message);
    }

    [Fact]
    public void RefusesInitiatingWithoutARemoteAddress()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Valid.Replace("remote_addrs = \"192.0.2.2\"\n", ""), "x.toml"));
        Assert.Contains("remote_addrs: initiating needs a remote address", error.Message);
    }

    [Fact]
    public void RefusesADuplicateConnection()
    {
        var text = Valid + "\n[connections.a-b]\npsk = \"0123456789\"\n";
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(text, "x.toml"));
        int line = Valid.Split('\n').Length + 1; // the second [connections.a-b], after the blank line
        Assert.StartsWith($"x.toml:{line}: ", error.Message);
        Assert.Contains("connections.a-b", error.Message);
    }

    [Fact]
    public void AMissingFileIsAConfigurationError()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load("/nonexistent/rekindled.toml"));
        Assert.Contains("cannot read configuration", error.Message);
    }
}
