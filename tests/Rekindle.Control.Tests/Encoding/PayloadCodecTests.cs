using Rekindle.Control.Config;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Tests.Encoding;

public class PayloadCodecTests
{
    private static IkeMessage RoundTrip(params Payload[] payloads)
    {
        var message = new IkeMessage { InitiatorSpi = 0x1122334455667788, Exchange = ExchangeType.IkeSaInit, FromInitiator = true, Payloads = [.. payloads] };
        var bytes = MessageCodec.Encode(message, null);
        Assert.True(IkeHeader.TryRead(bytes, out var header));
        Assert.Equal((uint)bytes.Length, header.Length);
        Assert.Equal(0x1122334455667788ul, header.InitiatorSpi);
        var result = MessageCodec.Decode(bytes, header, null);
        Assert.Equal(DecodeError.None, result.Error);
        return result.Message!;
    }

    [Fact]
    public void SaPayloadKeepsProposalsTransformsAndKeyLengths()
    {
        var proposals = ProposalParser.ParseIke("aes256gcm16-prfsha256-x25519-ecp384, aes128-sha256-modp2048");
        var decoded = RoundTrip(new SaPayload(proposals)).Get<SaPayload>()!;
        Assert.Equal(2, decoded.Proposals.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(proposals[i].Number, decoded.Proposals[i].Number);
            Assert.Equal(proposals[i].Transforms, decoded.Proposals[i].Transforms);
        }
        Assert.Equal(256, decoded.Proposals[0].Find(TransformType.Encryption)!.Value.KeyLength);
    }

    [Fact]
    public void EveryPayloadTypeRoundTrips()
    {
        var ts = TrafficSelector.FromCidr("10.1.0.0/24");
        var ts6 = TrafficSelector.FromCidr("2001:db8::/64");
        var message = new IkeMessage
        {
            Exchange = ExchangeType.IkeAuth, // the table is not consulted by PayloadChain itself
            Payloads =
            [
                new KePayload(DhGroup.Curve25519, new byte[32]),
                new IdPayload(true, IdType.Fqdn, "gw.example"u8.ToArray()),
                new IdPayload(false, IdType.Ipv4Address, [192, 0, 2, 1]),
                new CertPayload(4, [1, 2, 3]),
                new CertReqPayload(4, [4, 5]),
                new AuthPayload(AuthMethod.SharedKeyMic, new byte[32]),
                new NoncePayload(new byte[32]),
                new NotifyPayload(NotifyType.Cookie, [9, 9], ProtocolId.Esp, [1, 2, 3, 4]),
                new DeletePayload(ProtocolId.Ike, []),
                new VendorIdPayload("rekindle"u8.ToArray()),
                new TsPayload(true, [ts, ts6]),
                new TsPayload(false, [ts with { IpProtocol = 6, StartPort = 443, EndPort = 443 }]),
                new CpPayload(CfgType.Request, [new CpAttribute(1, []), new CpAttribute(3, [10, 0, 0, 1])]),
                new EapPayload([1, 7, 0, 5, 1]),
            ],
        };
        var buffer = new byte[PayloadChain.GetLength(message.Payloads)];
        var first = PayloadChain.Write(message.Payloads, buffer);
        var read = new List<Payload>();
        Assert.Equal(DecodeError.None, PayloadChain.TryRead(first, buffer, read, out _, out int sk, out _));
        Assert.Equal(-1, sk);
        Assert.Equal(message.Payloads.Select(p => p.Type), read.Select(p => p.Type));
        var reencoded = new byte[buffer.Length];
        PayloadChain.Write(read, reencoded);
        Assert.Equal(buffer, reencoded);
        Assert.Equal("2001:db8::/64", ((TsPayload)read[10]).Selectors[1].ToString());
        Assert.Equal("10.1.0.0/24[6][443]", ((TsPayload)read[11]).Selectors[0].ToString());
    }

    [Theory]
    [InlineData("payload length beyond the message")]
    [InlineData("payload length below the header")]
    [InlineData("short nonce")]
    [InlineData("proposal count mismatch")]
    [InlineData("delete SPI size wrong")]
    [InlineData("two SA payloads")]
    public void MalformedMessagesAreInvalidSyntax(string defect)
    {
        var nonce = new NoncePayload(new byte[16]);
        Payload[] payloads = defect switch
        {
            "short nonce" => [new UnknownPayloadOfType(PayloadType.Nonce, new byte[8])],
            "delete SPI size wrong" => [new UnknownPayloadOfType(PayloadType.Delete, [3, 2, 0, 1, 0, 0])],
            "proposal count mismatch" => [new UnknownPayloadOfType(PayloadType.SecurityAssociation, [0, 0, 0, 8, 1, 1, 0, 2])],
            "two SA payloads" => [new SaPayload(ProposalParser.ParseIke("aes128-sha256-modp2048")), new SaPayload(ProposalParser.ParseIke("aes128-sha256-modp2048"))],
            _ => [nonce],
        };
        var bytes = MessageCodec.Encode(new IkeMessage { Exchange = ExchangeType.IkeSaInit, Payloads = [.. payloads] }, null);
        if (defect == "payload length beyond the message")
            bytes[IkeHeader.Size + 3] += 4;
        if (defect == "payload length below the header")
            bytes[IkeHeader.Size + 3] = 3;
        Assert.True(IkeHeader.TryRead(bytes, out var header));
        Assert.Equal(DecodeError.InvalidSyntax, MessageCodec.Decode(bytes, header, null).Error);
    }

    [Fact]
    public void UnknownPayloadsAreSkippedUnlessCritical()
    {
        var skipped = RoundTrip(new UnknownPayloadOfType((PayloadType)200, [1, 2]), new NoncePayload(new byte[16]));
        Assert.IsType<NoncePayload>(Assert.Single(skipped.Payloads, p => p.Type == PayloadType.Nonce));

        var message = new IkeMessage { Exchange = ExchangeType.IkeSaInit, Payloads = [new UnknownPayloadOfType((PayloadType)200, [1, 2]) { Critical = true }] };
        var bytes = MessageCodec.Encode(message, null);
        IkeHeader.TryRead(bytes, out var header);
        var result = MessageCodec.Decode(bytes, header, null);
        Assert.Equal(DecodeError.UnsupportedCriticalPayload, result.Error);
        Assert.Equal((PayloadType)200, result.UnsupportedType);
    }

    [Fact]
    public void RandomCorruptionNeverThrows()
    {
        var random = new Random(5723);
        var valid = MessageCodec.Encode(new IkeMessage
        {
            Exchange = ExchangeType.IkeSaInit,
            Payloads = [new SaPayload(ProposalParser.ParseIke("aes256gcm16-prfsha256-x25519")), new KePayload(DhGroup.Curve25519, new byte[32]),
                new NoncePayload(new byte[32]), new NotifyPayload(NotifyType.NatDetectionSourceIp, new byte[20])],
        }, null);
        for (int i = 0; i < 20000; i++)
        {
            var bytes = valid.ToArray();
            int flips = random.Next(1, 6);
            for (int f = 0; f < flips; f++)
                bytes[random.Next(IkeHeader.Size - 12, bytes.Length)] = (byte)random.Next(256);
            var length = random.Next(IkeHeader.Size, bytes.Length + 1);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(24), (uint)length);
            if (IkeHeader.TryRead(bytes, out var header))
                MessageCodec.Decode(bytes, header, null); // must answer, never throw
        }
    }

    [Fact]
    public void HeaderRejectsShortBuffersAndBadLengths()
    {
        Assert.False(IkeHeader.TryRead(new byte[27], out _));
        var bytes = new byte[28];
        new IkeHeader(1, 2, PayloadType.None, ExchangeType.IkeSaInit, IkeFlags.Initiator, 0, 40).Write(bytes);
        Assert.False(IkeHeader.TryRead(bytes, out _)); // claims 40 octets, has 28
        new IkeHeader(1, 2, PayloadType.None, ExchangeType.IkeSaInit, IkeFlags.Initiator, 0, 28).Write(bytes);
        Assert.True(IkeHeader.TryRead(bytes, out var header));
        Assert.True(header.IsFromInitiator);
    }

    /// <summary>Writes an arbitrary body under any payload type, to build malformed messages.</summary>
    private sealed class UnknownPayloadOfType(PayloadType type, byte[] body) : Payload
    {
        public override PayloadType Type { get; } = type;
        public override int BodyLength => body.Length;
        public override void WriteBody(Span<byte> destination) => body.CopyTo(destination);
    }
}
