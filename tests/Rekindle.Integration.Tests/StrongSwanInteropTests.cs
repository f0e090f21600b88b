using Rekindle.Testbed;

namespace Rekindle.Integration.Tests;

/// <summary>
/// rekindled against strongSwan's charon (kernel-libipsec, which always fakes a NAT) in two namespaces: both roles,
/// the three required proposals, a wrong PSK, and <c>down</c> from either side. SPIs and algorithms are compared
/// between <c>rekindlectl list-sas</c> and <c>swanctl --list-sas</c>.
/// </summary>
[Trait("Category", "Netns")]
public sealed class StrongSwanInteropTests : IDisposable
{
    private const string Psk = "interop-test-psk-0123456789";
    private readonly TwoHostTopology _net = new();
    private Rekindled? _rekindled;
    private Charon? _charon;

    public static TheoryData<string, string, string, string, string, string, string> Proposals => new()
    {
        // ike (both), esp (both), expected: IKE encr, keysize, integ, prf, dh
        { "aes256gcm16-prfsha256-x25519", "aes256gcm16", "AES_GCM_16", "256", "", "PRF_HMAC_SHA2_256", "CURVE_25519" },
        { "aes128-sha256-modp2048", "aes128-sha256", "AES_CBC", "128", "HMAC_SHA2_256_128", "PRF_HMAC_SHA2_256", "MODP_2048" },
        { "aes256gcm16-prfsha384-ecp384", "aes256gcm16", "AES_GCM_16", "256", "", "PRF_HMAC_SHA2_384", "ECP_384" },
    };

    private void Start(string ike, string esp, string rekindledPsk = Psk, string charonPsk = Psk)
    {
        _charon = new Charon(_net.NamespaceB, Charon.Config("b-a", TwoHostTopology.AddressB, TwoHostTopology.AddressA,
            "gwb.test.example", "gwa.test.example", "10.2.0.0/24", "10.1.0.0/24", ike, esp, charonPsk));
        _rekindled = new Rekindled(_net.NamespaceA, Rekindled.Config("a-b", TwoHostTopology.AddressA, TwoHostTopology.AddressB,
            "gwa.test.example", "gwb.test.example", "10.1.0.0/24", "10.2.0.0/24", ike, esp, rekindledPsk));
    }

    [Theory]
    [MemberData(nameof(Proposals))]
    public void RekindledInitiates(string ike, string esp, string encr, string keySize, string integ, string prf, string dh)
    {
        Start(ike, esp);
        var up = _rekindled!.Ctl("up", "a-b");
        Assert.True(up.ExitCode == 0, up.All + _rekindled.Log + _charon!.Log);
        AssertSameSas(initiatorIsRekindled: true, encr, keySize, integ, prf, dh, esp);
        Down(fromRekindled: true);
    }

    [Theory]
    [MemberData(nameof(Proposals))]
    public void CharonInitiates(string ike, string esp, string encr, string keySize, string integ, string prf, string dh)
    {
        Start(ike, esp);
        var up = _charon!.Swanctl("--initiate", "--ike", "b-a", "--child", "net");
        Assert.True(up.ExitCode == 0, up.All + _rekindled!.Log + _charon.Log);
        AssertSameSas(initiatorIsRekindled: false, encr, keySize, integ, prf, dh, esp);
        Down(fromRekindled: false);
    }

    [Fact]
    public void WrongPskFailsCleanlyWhenRekindledInitiates()
    {
        Start("aes256gcm16-prfsha256-x25519", "aes256gcm16", charonPsk: "a-different-psk-0123456789");
        var up = _rekindled!.Ctl("up", "a-b");
        Assert.Equal(1, up.ExitCode);
        Assert.Contains("AuthenticationFailed", up.Error);
        Assert.Empty(_rekindled.ListSas());
        Shell.WaitFor(() => _charon!.ListSas().Count == 0, TimeSpan.FromSeconds(10), "charon to drop the failed IKE SA");
        Assert.Contains("N(AUTH_FAILED)", _charon!.Log);
    }

    [Fact]
    public void WrongPskFailsCleanlyWhenCharonInitiates()
    {
        Start("aes256gcm16-prfsha256-x25519", "aes256gcm16", rekindledPsk: "a-different-psk-0123456789");
        var up = _charon!.Swanctl("--initiate", "--ike", "b-a", "--child", "net");
        Assert.NotEqual(0, up.ExitCode);
        Assert.Contains("AUTHENTICATION_FAILED", up.All);
        Assert.Empty(_charon.ListSas());
        Shell.WaitFor(() => _rekindled!.ListSas().Count == 0, TimeSpan.FromSeconds(10), "rekindled to drop the failed IKE SA");
        Assert.Contains("AUTH payload mismatch", _rekindled!.Log);
    }

    [Fact]
    public void DaemonShutdownDeletesTheSasOnThePeer()
    {
        Start("aes256gcm16-prfsha256-x25519", "aes256gcm16");
        Assert.Equal(0, _rekindled!.Ctl("up", "a-b").ExitCode);
        Assert.Single(_charon!.ListSas());
        Assert.Equal(0, _rekindled.Stop(TimeSpan.FromSeconds(10)));
        Shell.WaitFor(() => _charon.ListSas().Count == 0, TimeSpan.FromSeconds(10), "charon to see the IKE SA deleted");
    }

    private void AssertSameSas(bool initiatorIsRekindled, string encr, string keySize, string integ, string prf, string dh, string esp)
    {
        var ours = Assert.Single(_rekindled!.ListSas());
        var theirs = Assert.Single(_charon!.ListSas());
        Assert.Equal("ESTABLISHED", ours.State);
        Assert.Equal("ESTABLISHED", theirs.State);
        Assert.Equal(initiatorIsRekindled, ours.Initiator);
        Assert.Equal(theirs.InitiatorSpi, ours.InitiatorSpi);
        Assert.Equal(theirs.ResponderSpi, ours.ResponderSpi);
        Assert.Equal((encr, keySize, prf, dh), (theirs.EncrAlg, theirs.EncrKeySize, theirs.PrfAlg, theirs.DhGroup));
        Assert.Equal((encr, int.Parse(keySize), prf, dh), (ours.EncryptionAlgorithm, ours.EncryptionKeySize, ours.PrfAlgorithm, ours.DhGroup));
        Assert.Equal(integ, theirs.IntegAlg);
        Assert.Equal(integ == "" ? null : integ, ours.IntegrityAlgorithm);
        // kernel-libipsec fakes a NAT: both sides must have moved to 4500 and encapsulate ESP.
        Assert.Equal(4500, ours.RemotePort);

        var ourChild = Assert.Single(ours.Children);
        var theirChild = Assert.Single(theirs.Children);
        Assert.Equal("INSTALLED", theirChild.State);
        Assert.Equal(theirChild.SpiIn, ourChild.SpiOut);
        Assert.Equal(theirChild.SpiOut, ourChild.SpiIn);
        Assert.Equal(theirChild.EncrAlg, ourChild.EncryptionAlgorithm);
        Assert.Equal(theirChild.EncrKeySize, ourChild.EncryptionKeySize.ToString());
        Assert.Equal(theirChild.IntegAlg, ourChild.IntegrityAlgorithm ?? "");
        Assert.True(theirChild.Encap);
        Assert.True(ourChild.UdpEncapsulation);
        Assert.Equal(["10.1.0.0/24"], ourChild.LocalTs);
        Assert.Equal(["10.2.0.0/24"], ourChild.RemoteTs);
        _ = esp;
    }

    private void Down(bool fromRekindled)
    {
        if (fromRekindled)
            Assert.Equal(0, _rekindled!.Ctl("down", "a-b").ExitCode);
        else
            Assert.Equal(0, _charon!.Swanctl("--terminate", "--ike", "b-a").ExitCode);
        Shell.WaitFor(() => _rekindled!.ListSas().Count == 0 && _charon!.ListSas().Count == 0, TimeSpan.FromSeconds(10), "both sides to remove the SAs");
    }

    public void Dispose()
    {
        _rekindled?.Dispose();
        _charon?.Dispose();
        _net.Dispose();
    }
}
