using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding;

namespace Rekindle.Control.Tests.Crypto;

/// <summary>Known-answer tests: NIST SP 800-135 IKEv2 KDF (CAVP), RFC 4231 HMAC vectors for the PRFs.</summary>
public class KeyDerivationTests
{
    // NIST CAVP SP 800-135 IKEv2 test vector (SHA-1, 8-octet nonces, 1056-bit DKM).
    private static readonly byte[] Ni = Convert.FromHexString("3651fef5c9c35e93");
    private static readonly byte[] Nr = Convert.FromHexString("c09a8b90a3f04d59");
    private static readonly byte[] Gir = Convert.FromHexString(
        "d084a30166a50fb7325c3960874a839449ef9741c2f4f947d0201dd8c1269273d79509f37e3ca3eb4fa2fe2a28254e289cd3f34dad4eb4df1a07685a4b8a94fa61e2491f7598b3ce65547ff133b3f63d1ac4175eaa695033f3cedb026a6873a36455172a8540b8a5d23a0143bed0390ee49b168269d75fffee9fb62be965993c");
    private static readonly byte[] GirNew = Convert.FromHexString(
        "52f00ab174c25d5b7139ae5ff4e8e9eddee5992d2e36adf8a559ffd90dab1442e4fbe429d320c0f33552a17d1557fa41ea70e8fb916c4fa27ed52b5f8ebd8461afa78f1159159a64055ac5f6319e29c28eae58cbc6847770f32c3fed1d04750484f854790f95e9ec01bc5bc461f24966462e359511329305038e94deb6dd42c2");
    private const ulong SpiI = 0x8e5c3ae507221684, SpiR = 0xb1f201bb155c3acd;

    [Fact]
    public void SkeySeedMatchesNistVector()
    {
        var prf = Prf.Create(PrfId.HmacSha1);
        Assert.Equal("cd2e8050137832245f1dbacc6e4f0a92f94d45d6", Convert.ToHexStringLower(KeyDerivation.SkeySeed(prf, Ni, Nr, Gir)));
    }

    [Fact]
    public void IkeKeyMaterialMatchesNistVector()
    {
        var prf = Prf.Create(PrfId.HmacSha1);
        var skeyseed = KeyDerivation.SkeySeed(prf, Ni, Nr, Gir);
        byte[] seed = [.. Ni, .. Nr, .. Convert.FromHexString("8e5c3ae507221684b1f201bb155c3acd")];
        Assert.Equal(
            "6f1b12cad3cbe097b35430356d869d54cddb0198ec859174d53ceb92dddedbe2436db69f60977c58fa63bbb667f8d36920b109baae8f6c61a9ac49feda01843225d080ec5539d5881a25521ffb2a0a91874a9c0a27fcc2d717eb8963a9e3a89c7ab264757284c28cf8c3ca40576f4220b052b1fb8e9ad60ba3c80557323331a8cbb89f20",
            Convert.ToHexStringLower(prf.PrfPlus(skeyseed, seed, 132)));

        // The same material through DeriveIkeKeys: SK_d comes first.
        var suite = new IkeCryptoSuite(Cipher.Create(EncryptionId.AesCbc, 128), Integrity.Create(IntegrityId.HmacSha1_96), prf, DhGroup.Modp2048);
        var keys = KeyDerivation.DeriveIkeKeys(suite, skeyseed, Ni, Nr, SpiI, SpiR);
        Assert.Equal("6f1b12cad3cbe097b35430356d869d54cddb0198", Convert.ToHexStringLower(keys.SkD));
        Assert.Equal("ec859174d53ceb92dddedbe2436db69f60977c58", Convert.ToHexStringLower(keys.SkAi));
    }

    [Fact]
    public void ChildKeyMaterialMatchesNistVector()
    {
        var prf = Prf.Create(PrfId.HmacSha1);
        var skD = Convert.FromHexString("6f1b12cad3cbe097b35430356d869d54cddb0198");
        Assert.Equal(
            "4727dc0ef94eb326ce131cf282fb652faa638ad0ddae3786a11bcc0309876009f8c485de011ad962c5b1ca8a41ff8145445749079c5686e26ffebbc342f06981f3da745e11ca0976424d1f8caec623d59dc7186deb20a27b411d1dcb70a365440bf7de905088b0692e8addc094e18d1939bdb67e89798ca6b239e2ccb81c2409dac0106c",
            Convert.ToHexStringLower(KeyDerivation.ChildKeyMaterial(prf, skD, Ni, Nr, 132)));
        Assert.Equal(
            "b109c21ad4c0797768c1cec9e63554681e48f224bca7f23c20c4ea7041983451e9aa1d5408656c8a975ff1b9d9a12c75ffeb64bdecb30174664cccb4e14f1c377b7f6d1525af77c7092aac3e47f917ebae8297fb5539d2008ce830823a09cc197361d4a289c72745f6ce9fefe812be5bf55b3200fbb82e41a4a40877d3fe106db909707b",
            Convert.ToHexStringLower(KeyDerivation.ChildKeyMaterial(prf, skD, Ni, Nr, 132, GirNew)));
    }

    [Theory]
    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
    [InlineData(PrfId.HmacSha256, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")]
    [InlineData(PrfId.HmacSha384, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649")]
    [InlineData(PrfId.HmacSha512, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")]
    public void PrfsMatchRfc4231(PrfId id, string expected)
    {
        var prf = Prf.Create(id);
        Assert.Equal(expected, Convert.ToHexStringLower(prf.Compute("Jefe"u8, "what do ya want for nothing?"u8)));
        Assert.Equal(expected.Length / 2, prf.OutputLength);
    }

    [Fact]
    public void PskAuthUsesTheKeyPad()
    {
        // AUTH = prf(prf(psk, "Key Pad for IKEv2"), octets), checked against a direct composition of HMACs.
        var prf = Prf.Create(PrfId.HmacSha256);
        var psk = "secret"u8.ToArray();
        var octets = "signed octets"u8.ToArray();
        var inner = System.Security.Cryptography.HMACSHA256.HashData(psk, "Key Pad for IKEv2"u8.ToArray());
        Assert.Equal(System.Security.Cryptography.HMACSHA256.HashData(inner, octets), KeyDerivation.PskAuth(prf, psk, octets));
    }

    [Theory]
    [InlineData(DhGroup.Modp2048, 256)]
    [InlineData(DhGroup.Ecp256, 64)]
    [InlineData(DhGroup.Ecp384, 96)]
    [InlineData(DhGroup.Curve25519, 32)]
    public void KeyExchangeAgreesAndRejectsInvalidValues(DhGroup group, int publicLength)
    {
        using var a = KeyExchange.Create(group);
        using var b = KeyExchange.Create(group);
        Assert.Equal(publicLength, a.PublicKey.Length);
        var secretA = a.ComputeSharedSecret(b.PublicKey);
        Assert.NotNull(secretA);
        Assert.Equal(secretA, b.ComputeSharedSecret(a.PublicKey));
        Assert.Null(a.ComputeSharedSecret(new byte[publicLength - 1]));
        Assert.Null(a.ComputeSharedSecret(new byte[publicLength])); // zero is never a valid public value
    }
}
