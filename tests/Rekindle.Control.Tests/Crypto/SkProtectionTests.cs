using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Tests.Crypto;

public class SkProtectionTests
{
    public static TheoryData<EncryptionId, int, IntegrityId> Suites => new()
    {
        { EncryptionId.AesGcm16, 128, IntegrityId.None },
        { EncryptionId.AesGcm16, 256, IntegrityId.None },
        { EncryptionId.AesCbc, 128, IntegrityId.HmacSha256_128 },
        { EncryptionId.AesCbc, 256, IntegrityId.HmacSha384_192 },
        { EncryptionId.AesCbc, 256, IntegrityId.HmacSha512_256 },
    };

    private static (SkProtection Initiator, SkProtection Responder) Pair(EncryptionId encr, int bits, IntegrityId integ)
    {
        var suite = new IkeCryptoSuite(Cipher.Create(encr, bits), integ == IntegrityId.None ? null : Integrity.Create(integ),
            Prf.Create(PrfId.HmacSha256), DhGroup.Curve25519);
        var keys = KeyDerivation.DeriveIkeKeys(suite, new byte[32], new byte[16], new byte[16], 1, 2);
        return (SkProtection.ForRole(suite, keys, true), SkProtection.ForRole(suite, keys, false));
    }

    private static IkeMessage Message() => new()
    {
        InitiatorSpi = 1, ResponderSpi = 2, Exchange = ExchangeType.Informational, FromInitiator = true, MessageId = 7,
        Payloads = [new DeletePayload(ProtocolId.Esp, [0xc0000001, 0xc0000002]), new NotifyPayload(NotifyType.InitialContact)],
    };

    [Theory]
    [MemberData(nameof(Suites))]
    public void SealedMessageOpensOnlyOnThePeer(EncryptionId encr, int bits, IntegrityId integ)
    {
        var (initiator, responder) = Pair(encr, bits, integ);
        var bytes = MessageCodec.Encode(Message(), initiator);
        Assert.True(IkeHeader.TryRead(bytes, out var header));
        var decoded = MessageCodec.Decode(bytes, header, responder);
        Assert.Equal(DecodeError.None, decoded.Error);
        var delete = Assert.IsType<DeletePayload>(decoded.Message!.Payloads[0]);
        Assert.Equal([0xc0000001u, 0xc0000002u], delete.Spis);
        Assert.True(decoded.Message.Protected);

        // The sender's own inbound keys are the other direction's: it cannot open what it sent.
        Assert.Equal(DecodeError.Drop, MessageCodec.Decode(bytes, header, initiator).Error);
    }

    [Theory]
    [MemberData(nameof(Suites))]
    public void AnyFlippedBitIsDropped(EncryptionId encr, int bits, IntegrityId integ)
    {
        var (initiator, responder) = Pair(encr, bits, integ);
        var bytes = MessageCodec.Encode(Message(), initiator);
        for (int i = IkeHeader.Size; i < bytes.Length; i++)
        {
            var tampered = bytes.ToArray();
            tampered[i] ^= 0x01;
            Assert.True(IkeHeader.TryRead(tampered, out var header));
            Assert.NotEqual(DecodeError.None, MessageCodec.Decode(tampered, header, responder).Error);
        }
    }
}
