using Rekindle.Control.Config;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Tests.Config;

public class ProposalTests
{
    [Theory]
    [InlineData("aes256gcm16-prfsha256-x25519", "Encryption:20/256 Prf:5 KeyExchange:31")]
    [InlineData("aes128-sha256-modp2048", "Encryption:12/128 Prf:5 Integrity:12 KeyExchange:14")]
    [InlineData("aes256gcm16-prfsha384-ecp384", "Encryption:20/256 Prf:6 KeyExchange:20")]
    [InlineData("aes256-sha512-ecp521", "Encryption:12/256 Prf:7 Integrity:14 KeyExchange:21")]
    public void IkeProposalsReadAsStrongSwanWritesThem(string text, string transforms)
    {
        var proposal = Assert.Single(ProposalParser.ParseIke(text));
        Assert.Equal(ProtocolId.Ike, proposal.Protocol);
        Assert.Equal(transforms, string.Join(" ", proposal.Transforms));
    }

    [Theory]
    [InlineData("aes256gcm16", "Encryption:20/256 ExtendedSequenceNumbers:0")]
    [InlineData("aes128-sha256-esn", "Encryption:12/128 Integrity:12 ExtendedSequenceNumbers:1")]
    public void EspProposals(string text, string transforms) =>
        Assert.Equal(transforms, string.Join(" ", Assert.Single(ProposalParser.ParseEsp(text)).Transforms));

    [Theory]
    [InlineData("aes256gcm16-x25519", "needs a PRF")]
    [InlineData("aes128-modp2048", "needs an integrity algorithm")]
    [InlineData("aes128-sha256", "no key exchange group")]
    [InlineData("3des-sha1-modp1024", "unknown algorithm '3des'")]
    public void BadIkeProposalsNameTheProblem(string text, string message) =>
        Assert.Contains(message, Assert.Throws<FormatException>(() => ProposalParser.ParseIke(text)).Message);

    [Fact]
    public void ResponderPicksItsFirstMatchAndOneTransformPerType()
    {
        var ours = ProposalParser.ParseIke("aes256gcm16-prfsha256-ecp384");
        var offered = ProposalParser.ParseIke("aes128-sha256-modp2048, aes128gcm16-aes256gcm16-prfsha512-prfsha256-x25519-ecp384");
        var chosen = ProposalSelector.Select(ours, offered, ProtocolId.Ike)!;
        Assert.Equal(2, chosen.Number);
        Assert.Equal("Encryption:20/256 Prf:5 KeyExchange:20", string.Join(" ", chosen.Transforms));
        Assert.True(ProposalSelector.IsAcceptableChoice(offered, chosen));
        Assert.Null(ProposalSelector.Select(ProposalParser.ParseIke("aes256-sha512-ecp521"), offered, ProtocolId.Ike));
    }

    [Fact]
    public void AChoiceWithTransformsNotOfferedIsRejected()
    {
        var offered = ProposalParser.ParseIke("aes128-sha256-modp2048");
        var forged = ProposalParser.ParseIke("aes256-sha256-modp2048")[0];
        Assert.False(ProposalSelector.IsAcceptableChoice(offered, forged));
    }

    [Fact]
    public void EspWithoutEsnTransformFromThePeerMeansNoEsn()
    {
        var ours = ProposalParser.ParseEsp("aes256gcm16");
        var offered = new[] { new Proposal(1, ProtocolId.Esp, [1, 2, 3, 4], [new Transform(TransformType.Encryption, (ushort)EncryptionId.AesGcm16, 256)]) };
        Assert.NotNull(ProposalSelector.Select(ours, offered, ProtocolId.Esp));
    }
}
