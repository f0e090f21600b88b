using Rekindle.Control.Kernel;
using Rekindle.Control.Config;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Engine;

using Rekindle.Control.Sa;

namespace Rekindle.Control.Tests.Engine;

/// <summary>Two engines in one process, stepped message by message against fake back-ends.</summary>
public class IkeExchangeTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private ExchangeHarness Harness(string ikeProposals = "aes256gcm16-prfsha256-x25519", string espProposals = "aes256gcm16",
        Func<ConnectionConfig, ConnectionConfig>? tweakA = null, Func<ConnectionConfig, ConnectionConfig>? tweakB = null,
        EngineOptions? options = null, System.Net.IPAddress? natAddressOfA = null) =>
        new(ikeProposals, espProposals, tweakA, tweakB, options, natAddressOfA, output.WriteLine);

    public static TheoryData<string, string> Proposals => new()
    {
        { "aes256gcm16-prfsha256-x25519", "aes256gcm16" },
        { "aes128-sha256-modp2048", "aes128-sha256" },
        { "aes256gcm16-prfsha384-ecp384", "aes256gcm16" },
        { "aes128gcm16-prfsha512-ecp256", "aes128gcm16-esn" },
        { "aes256-sha384-x25519", "aes256-sha512" },
        { "aes256-sha512-ecp384", "aes128-sha384" },
    };

    [Theory]
    [MemberData(nameof(Proposals))]
    public void EstablishesIkeAndChildSaWithMatchingKeys(string ike, string esp)
    {
        var h = Harness(ike, esp);
        h.A.Engine.Initiate("a-b");

        // IKE_SA_INIT { SA, KE, Ni, N(NATD_S_IP), N(NATD_D_IP) } -->
        var init = h.Deliver(h.A);
        Assert.Equal(ExchangeType.IkeSaInit, init.Header.Exchange);
        // <-- IKE_SA_INIT { SA, KE, Nr, N(NATD_S_IP), N(NATD_D_IP) }
        Assert.False(h.Deliver(h.B).Header.Exchange != ExchangeType.IkeSaInit);
        // IKE_AUTH { IDi, IDr, AUTH, SA, TSi, TSr } -->
        Assert.Equal(ExchangeType.IkeAuth, h.Deliver(h.A).Header.Exchange);
        Assert.Equal(IkeSaState.Established, Assert.Single(h.B.Engine.Sas).State);
        // <-- IKE_AUTH { IDr, AUTH, SA, TSi, TSr }
        Assert.Equal(ExchangeType.IkeAuth, h.Deliver(h.B).Header.Exchange);
        Assert.Empty(h.A.Outbox);

        AssertEstablished(h);
    }

    internal static (IkeSa A, IkeSa B) AssertEstablished(ExchangeHarness h)
    {
        var a = Assert.Single(h.A.Engine.Sas);
        var b = Assert.Single(h.B.Engine.Sas);
        Assert.Equal(IkeSaState.Established, a.State);
        Assert.Equal(IkeSaState.Established, b.State);
        Assert.Equal((a.InitiatorSpi, a.ResponderSpi), (b.InitiatorSpi, b.ResponderSpi));
        Assert.Equal(a.Suite!.ToString(), b.Suite!.ToString());
        var childA = Assert.Single(a.Children);
        var childB = Assert.Single(b.Children);
        Assert.Equal(childA.InboundSpi, childB.OutboundSpi);
        Assert.Equal(childA.OutboundSpi, childB.InboundSpi);

        // Each direction's keys agree between the two back-ends.
        var saA = h.A.Backend.Sas.ToDictionary(s => s.Id.Spi);
        var saB = h.B.Backend.Sas.ToDictionary(s => s.Id.Spi);
        Assert.Equal(2, saA.Count);
        Assert.Equal(2, saB.Count);
        foreach (var (spi, sa) in saA)
        {
            var peer = saB[spi];
            Assert.NotEqual(sa.Direction, peer.Direction);
            Assert.Equal(sa.EncryptionKey, peer.EncryptionKey);
            Assert.Equal(sa.IntegrityKey, peer.IntegrityKey);
            Assert.Equal(sa.Suite.Cipher.KeyMaterialLength, sa.EncryptionKey.Length);
        }
        Assert.Equal(3, h.A.Backend.Policies.Count);
        Assert.Equal(3, h.B.Backend.Policies.Count);
        return (a, b);
    }

    [Fact]
    public void RolesSwapped()
    {
        var h = Harness();
        h.B.Engine.Initiate("b-a");
        h.Run();
        var (a, b) = AssertEstablished(h);
        Assert.True(b.IsOriginalInitiator);
        Assert.False(a.IsOriginalInitiator);
        Assert.Equal("10.2.0.0/24", b.Children[0].LocalTs[0].ToString());
    }

    [Fact]
    public void WrongPskFailsOnBothSidesWithAuthenticationFailed()
    {
        var h = Harness(tweakB: c => c with { Psk = "another-psk"u8.ToArray() });
        h.A.Engine.Initiate("a-b");
        h.Run();
        Assert.Empty(h.A.Engine.Sas);
        Assert.Empty(h.B.Engine.Sas);
        Assert.Empty(h.A.Backend.Sas);
        Assert.Empty(h.B.Backend.Sas);
        Assert.Contains(h.B.Log, l => l.Contains("AUTH payload mismatch"));
        Assert.Contains(h.A.Log, l => l.Contains("peer answered IKE_AUTH with AuthenticationFailed"));
    }

    [Fact]
    public void MismatchedIkeProposalIsAnsweredWithNoProposalChosen()
    {
        var h = Harness(tweakB: c => c with { IkeProposals = ProposalParser.ParseIke("aes128-sha256-modp2048") });
        h.A.Engine.Initiate("a-b");
        h.Run();
        Assert.Empty(h.A.Engine.Sas);
        Assert.Empty(h.B.Engine.Sas);
        Assert.Contains(h.A.Log, l => l.Contains("NoProposalChosen"));
    }

    [Fact]
    public void InvalidKePayloadMakesTheInitiatorRetryWithTheRequestedGroup()
    {
        var h = Harness(ikeProposals: "aes256gcm16-prfsha256-x25519-ecp384",
            tweakB: c => c with { IkeProposals = ProposalParser.ParseIke("aes256gcm16-prfsha256-ecp384") });
        h.A.Engine.Initiate("a-b");
        h.Deliver(h.A);
        var refusal = h.Deliver(h.B);
        Assert.Equal(0ul, refusal.Header.ResponderSpi);
        Assert.Empty(h.B.Engine.Sas); // nothing kept for the refused attempt
        h.Run();
        var (a, _) = AssertEstablished(h);
        Assert.Equal(DhGroup.Ecp384, a.Suite!.Group);
    }

    [Fact]
    public void CookieIsRequestedAndReturnedBeforeAnyStateIsMade()
    {
        var h = Harness(options: new EngineOptions { CookieThreshold = 0 });
        h.A.Engine.Initiate("a-b");
        h.Deliver(h.A);
        Assert.Empty(h.B.Engine.Sas);
        var cookie = h.Deliver(h.B);
        Assert.Equal(0ul, cookie.Header.ResponderSpi);
        var retry = h.Deliver(h.A);
        Assert.Equal(PayloadType.Notify, retry.Header.NextPayload); // N(COOKIE) first
        h.Run();
        AssertEstablished(h);
    }

    [Fact]
    public void UnacceptableEspProposalKeepsTheIkeSaWithoutChild()
    {
        var h = Harness(tweakB: c => c with { EspProposals = ProposalParser.ParseEsp("aes128-sha256") });
        h.A.Engine.Initiate("a-b");
        h.Run();
        Assert.Equal(IkeSaState.Established, Assert.Single(h.A.Engine.Sas).State);
        Assert.Empty(h.A.Engine.Sas.Single().Children);
        Assert.Empty(h.B.Engine.Sas.Single().Children);
        Assert.Empty(h.A.Backend.Sas);
        Assert.Contains(h.A.Log, l => l.Contains("NoProposalChosen"));
    }

    [Fact]
    public void DisjointTrafficSelectorsAreAnsweredWithTsUnacceptable()
    {
        var h = Harness(tweakB: c => c with { RemoteTs = [TrafficSelector.FromCidr("10.9.0.0/24")] });
        h.A.Engine.Initiate("a-b");
        h.Run();
        Assert.Equal(IkeSaState.Established, Assert.Single(h.A.Engine.Sas).State);
        Assert.Empty(h.A.Engine.Sas.Single().Children);
        Assert.Contains(h.A.Log, l => l.Contains("TsUnacceptable"));
    }

    [Fact]
    public void ResponderNarrowsTrafficSelectors()
    {
        var h = Harness(tweakA: c => c with { LocalTs = [TrafficSelector.FromCidr("10.1.0.0/16")] });
        h.A.Engine.Initiate("a-b");
        h.Run();
        var (a, b) = AssertEstablished(h);
        Assert.Equal("10.1.0.0/24", a.Children[0].LocalTs.Single().ToString());
        Assert.Equal("10.1.0.0/24", b.Children[0].RemoteTs.Single().ToString());
    }

    [Fact]
    public void LostRequestIsRetransmitted()
    {
        var h = Harness();
        h.A.Engine.Initiate("a-b");
        h.Deliver(h.A);
        h.Deliver(h.B);
        var lost = h.A.Outbox.Dequeue(); // IKE_AUTH request lost
        Assert.Equal(ExchangeType.IkeAuth, lost.Header.Exchange);
        h.Tick(TimeSpan.FromSeconds(0.5));
        Assert.Empty(h.A.Outbox); // not yet due
        h.Tick(TimeSpan.FromSeconds(0.6));
        Assert.Equal(lost.Data, Assert.Single(h.A.Outbox).Data);
        h.Run();
        AssertEstablished(h);
    }

    [Fact]
    public void LostResponseIsAnsweredFromCacheWithoutRunningTheExchangeTwice()
    {
        var h = Harness();
        h.A.Engine.Initiate("a-b");
        h.Deliver(h.A);
        h.Deliver(h.B);
        h.Deliver(h.A); // IKE_AUTH request
        var lost = h.B.Outbox.Dequeue();
        h.Tick(TimeSpan.FromSeconds(1.1));
        h.Deliver(h.A); // retransmitted request
        Assert.Equal(lost.Data, h.B.Outbox.Peek().Data);
        h.Run();
        AssertEstablished(h);
        Assert.Equal(2, h.B.Backend.Sas.Count);
    }

    [Fact]
    public void DuplicatedAndReorderedMessagesAreHarmless()
    {
        var h = Harness();
        h.A.Engine.Initiate("a-b");
        var init = h.A.Outbox.Peek();
        h.Deliver(h.A);
        h.B.Receive(init); // duplicate IKE_SA_INIT: answered from cache
        Assert.Equal(2, h.B.Outbox.Count);
        Assert.Equal(h.B.Outbox.ElementAt(0).Data, h.B.Outbox.ElementAt(1).Data);
        Assert.Single(h.B.Engine.Sas);
        h.Deliver(h.B);
        var stale = h.B.Outbox.Dequeue();
        h.Deliver(h.A); // IKE_AUTH request
        var authResponse = h.B.Outbox.Dequeue();
        h.A.Receive(stale); // late duplicate IKE_SA_INIT response arrives first: dropped
        h.A.Receive(authResponse);
        h.A.Receive(authResponse); // and again: dropped
        Assert.Empty(h.A.Outbox);
        AssertEstablished(h);
    }

    [Fact]
    public void PeerThatNeverAnswersIsGivenUpAfterTheRetransmitLimit()
    {
        var h = Harness();
        h.A.Engine.Initiate("a-b");
        for (int i = 0; i < 20 && h.A.Engine.Sas.Count > 0; i++)
        {
            h.A.Outbox.Clear();
            h.Tick(TimeSpan.FromSeconds(10));
        }
        Assert.Empty(h.A.Engine.Sas);
        Assert.Contains(h.A.Log, l => l.Contains("did not answer IkeSaInit request 0 after 3 retransmits"));
    }

    [Fact]
    public void DeleteOfTheIkeSaRemovesEverythingOnBothSides()
    {
        var h = Harness();
        h.A.Engine.Initiate("a-b");
        h.Run();
        AssertEstablished(h);
        Assert.Equal(1, h.A.Engine.Terminate("a-b"));
        h.Run();
        Assert.Empty(h.A.Engine.Sas);
        Assert.Empty(h.B.Engine.Sas);
        Assert.Empty(h.A.Backend.Sas);
        Assert.Empty(h.B.Backend.Sas);
        Assert.Empty(h.A.Backend.Policies);
        Assert.Empty(h.B.Backend.Policies);
    }

    [Fact]
    public void ResponderCanDeleteTheIkeSa()
    {
        var h = Harness();
        h.A.Engine.Initiate("a-b");
        h.Run();
        h.B.Engine.Terminate("b-a");
        h.Run();
        Assert.Empty(h.A.Engine.Sas);
        Assert.Empty(h.B.Engine.Sas);
        Assert.Empty(h.A.Backend.Sas);
    }

    [Fact]
    public void DeleteOfTheChildSaKeepsTheIkeSa()
    {
        var h = Harness();
        h.A.Engine.Initiate("a-b");
        h.Run();
        Assert.Equal(1, h.A.Engine.TerminateChild("a-b", "net"));
        h.Run();
        Assert.Empty(Assert.Single(h.A.Engine.Sas).Children);
        Assert.Empty(Assert.Single(h.B.Engine.Sas).Children);
        Assert.Empty(h.A.Backend.Sas);
        Assert.Empty(h.B.Backend.Sas);

        // and a new one comes in its own CREATE_CHILD_SA exchange
        h.A.Engine.Initiate("a-b");
        var request = h.Deliver(h.A);
        Assert.Equal(ExchangeType.CreateChildSa, request.Header.Exchange);
        h.Run();
        AssertEstablished(h);
    }

    [Fact]
    public void LivenessCheckIsAnsweredAndSilenceKillsTheSa()
    {
        var h = Harness(tweakA: c => c with { DpdDelay = TimeSpan.FromSeconds(30) });
        h.A.Engine.Initiate("a-b");
        h.Run();
        h.Tick(TimeSpan.FromSeconds(31));
        var check = h.Deliver(h.A);
        Assert.Equal(ExchangeType.Informational, check.Header.Exchange);
        h.Run();
        Assert.Single(h.A.Engine.Sas);

        // The peer goes silent: the check is retransmitted, then the SA is given up.
        h.Tick(TimeSpan.FromSeconds(31));
        for (int i = 0; i < 10 && h.A.Engine.Sas.Count > 0; i++)
        {
            h.A.Outbox.Clear();
            h.Tick(TimeSpan.FromSeconds(10));
        }
        Assert.Empty(h.A.Engine.Sas);
        Assert.Empty(h.A.Backend.Sas);
    }

    [Fact]
    public void NatInFrontOfTheInitiatorMovesIkeToPort4500AndEncapsulatesEsp()
    {
        var h = Harness(natAddressOfA: System.Net.IPAddress.Parse("198.51.100.7"));
        h.A.Engine.Initiate("a-b");
        h.Deliver(h.A);
        h.Deliver(h.B);
        var auth = h.A.Outbox.Peek();
        Assert.Equal(4500, auth.To.Port);
        h.Run();
        var (a, b) = AssertEstablished(h);
        Assert.True(a.LocalBehindNat);
        Assert.True(b.RemoteBehindNat);
        Assert.True(a.Children[0].UdpEncapsulation);
        Assert.True(b.Children[0].UdpEncapsulation);
        Assert.All(h.B.Backend.Sas, s => Assert.True(s.UdpEncapsulation));
    }

    [Fact]
    public void ForcedEncapsulationFakesNatDetection()
    {
        var h = Harness(tweakA: c => c with { ForceEncap = true });
        h.A.Engine.Initiate("a-b");
        h.Run();
        var (a, b) = AssertEstablished(h);
        Assert.True(b.RemoteBehindNat);
        Assert.True(a.UdpEncapsulation);
        Assert.Equal(4500, a.Remote.Port);
    }

    [Fact]
    public void TamperedProtectedMessageIsDroppedSilently()
    {
        var h = Harness();
        h.A.Engine.Initiate("a-b");
        h.Deliver(h.A);
        h.Deliver(h.B);
        var auth = h.A.Outbox.Dequeue();
        var tampered = auth.Data.ToArray();
        tampered[^5] ^= 0x40;
        h.B.Receive(auth with { Data = tampered });
        Assert.Empty(h.B.Outbox);
        Assert.Equal(IkeSaState.Authenticating, h.B.Engine.Sas.Single().State);
        h.B.Receive(auth);
        h.Run();
        AssertEstablished(h);
    }

    [Fact]
    public void UnknownCriticalPayloadIsAnsweredWithUnsupportedCriticalPayload()
    {
        var h = Harness();
        h.A.Engine.Initiate("a-b");
        var init = h.A.Outbox.Dequeue();
        // Append an unknown critical payload (type 200) to the IKE_SA_INIT request.
        var data = init.Data.ToList();
        int last = Tests.Encoding.PayloadWalk.LastPayloadOffset(init.Data);
        data[last] = 200;
        data.AddRange(new byte[] { 0, 0x80, 0, 8, 1, 2, 3, 4 });
        var bytes = data.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(24), (uint)bytes.Length);
        h.B.Receive(init with { Data = bytes });
        var answer = h.B.Outbox.Dequeue();
        var decoded = MessageCodec.Decode(answer.Data, answer.Header, null);
        var notify = Assert.IsType<NotifyPayload>(Assert.Single(decoded.Message!.Payloads));
        Assert.Equal(NotifyType.UnsupportedCriticalPayload, notify.NotifyType);
        Assert.Equal(new byte[] { 200 }, notify.Data);
        Assert.Empty(h.B.Engine.Sas);
    }

    [Fact]
    public void LivenessIsOnlyCheckedWhenThePeerIsSilentOnEspToo()
    {
        var h = Harness(tweakA: c => c with { DpdDelay = TimeSpan.FromSeconds(30) });
        h.A.Engine.Initiate("a-b");
        h.Run();
        var child = h.A.Engine.Sas.Single().Children.Single();
        // ESP keeps arriving: no liveness check however long IKE is quiet.
        for (int i = 0; i < 5; i++)
        {
            h.Clock.Advance(TimeSpan.FromSeconds(20));
            h.A.Backend.SetLastUsed(child.InboundId, h.Clock.GetUtcNow());
            h.A.Engine.OnTimer();
            Assert.Empty(h.A.Outbox);
        }
        // Traffic stops: after dpd_delay of silence the check goes out.
        h.Tick(TimeSpan.FromSeconds(31));
        Assert.Equal(ExchangeType.Informational, Assert.Single(h.A.Outbox).Header.Exchange);
    }

    [Fact]
    public void NatTKeepalivesGoOutFromBehindTheNatOnlyWhenNothingElseWasSent()
    {
        var h = Harness(natAddressOfA: System.Net.IPAddress.Parse("198.51.100.7"),
            options: new EngineOptions { KeepaliveInterval = TimeSpan.FromSeconds(20) });
        h.A.Engine.Initiate("a-b");
        h.Run();
        h.Tick(TimeSpan.FromSeconds(10));
        Assert.Empty(h.A.Keepalives);
        h.Tick(TimeSpan.FromSeconds(11));
        var (from, to) = Assert.Single(h.A.Keepalives);
        Assert.Equal(4500, from.Port);
        Assert.Equal(4500, to.Port);
        Assert.Empty(h.B.Keepalives); // B is not behind a NAT

        // Outbound ESP counts as traffic: no keepalive is needed then.
        var child = h.A.Engine.Sas.Single().Children.Single();
        for (int i = 0; i < 3; i++)
        {
            h.Clock.Advance(TimeSpan.FromSeconds(15));
            h.A.Backend.SetLastUsed(child.OutboundId, h.Clock.GetUtcNow());
            h.A.Engine.OnTimer();
        }
        Assert.Single(h.A.Keepalives);
    }

    [Fact]
    public void HardLifetimeExpiryDeletesTheChildSaOnBothSides()
    {
        var h = Harness();
        h.A.Engine.Initiate("a-b");
        h.Run();
        var child = h.A.Engine.Sas.Single().Children.Single();
        h.A.Engine.OnSaExpired(new SaExpiry(child.OutboundId, child.ReqId, Hard: false));
        Assert.Empty(h.A.Outbox); // soft: nothing yet (rekeying comes later)
        Assert.Contains(h.A.Log, l => l.Contains("soft lifetime"));
        h.A.Engine.OnSaExpired(new SaExpiry(child.OutboundId, child.ReqId, Hard: true));
        Assert.Equal(ExchangeType.Informational, h.A.Outbox.Peek().Header.Exchange);
        h.Run();
        Assert.Empty(h.A.Engine.Sas.Single().Children);
        Assert.Empty(h.B.Engine.Sas.Single().Children);
        Assert.Empty(h.A.Backend.Sas);
        Assert.Empty(h.B.Backend.Sas);
    }

    [Fact]
    public void TrapPolicyIsInstalledAndAnAcquireStartsTheNegotiation()
    {
        var h = Harness(tweakA: c => c with { StartAction = StartAction.Trap });
        h.A.Engine.InstallTraps();
        var trap = Assert.Single(h.A.Backend.Policies);
        Assert.Equal(PolicyDirection.Out, trap.Direction);
        Assert.Empty(h.A.Outbox);

        // Traffic outside the connection's selectors starts nothing; traffic inside does.
        h.A.Engine.OnAcquire(new SaAcquire(0, TrafficSelector.FromCidr("10.7.0.1/32"), TrafficSelector.FromCidr("10.2.0.9/32")));
        Assert.Empty(h.A.Outbox);
        h.A.Engine.OnAcquire(new SaAcquire(0, TrafficSelector.FromCidr("10.1.0.5/32"), TrafficSelector.FromCidr("10.2.0.9/32")));
        Assert.Equal(ExchangeType.IkeSaInit, h.A.Outbox.Peek().Header.Exchange);
        h.Run();
        AssertEstablishedWithTrap(h);

        // When the IKE SA goes, the trap comes back for the next packet.
        h.A.Engine.Terminate("a-b");
        h.Run();
        Assert.Empty(h.A.Engine.Sas);
        Assert.Equal(PolicyDirection.Out, Assert.Single(h.A.Backend.Policies).Direction);
    }

    private static void AssertEstablishedWithTrap(ExchangeHarness h)
    {
        var a = Assert.Single(h.A.Engine.Sas);
        Assert.Equal(IkeSaState.Established, a.State);
        Assert.Single(a.Children);
        Assert.Equal(IkeSaState.Established, Assert.Single(h.B.Engine.Sas).State);
    }
}
