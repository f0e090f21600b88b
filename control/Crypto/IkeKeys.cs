using System.Buffers.Binary;

namespace Rekindle.Control.Crypto;

/// <summary>The seven keys of an IKE SA (RFC 7296 §2.14).</summary>
public sealed record IkeKeys(byte[] SkD, byte[] SkAi, byte[] SkAr, byte[] SkEi, byte[] SkEr, byte[] SkPi, byte[] SkPr)
{
    public override string ToString() => "IkeKeys { ... }"; // never into a log by accident
}

/// <summary>RFC 7296 key derivation: SKEYSEED, the IKE SA keys, CHILD SA keying material, and the PSK AUTH value.</summary>
public static class KeyDerivation
{
    private static readonly byte[] KeyPad = System.Text.Encoding.ASCII.GetBytes("Key Pad for IKEv2");

    /// <summary>SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 §2.14).</summary>
    public static byte[] SkeySeed(Prf prf, ReadOnlySpan<byte> ni, ReadOnlySpan<byte> nr, ReadOnlySpan<byte> sharedSecret) =>
        prf.Compute([.. ni, .. nr], sharedSecret);

    /// <summary>{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).</summary>
    public static IkeKeys DeriveIkeKeys(IkeCryptoSuite suite, ReadOnlySpan<byte> skeyseed,
        ReadOnlySpan<byte> ni, ReadOnlySpan<byte> nr, ulong spiI, ulong spiR)
    {
        var seed = new byte[ni.Length + nr.Length + 16];
        ni.CopyTo(seed);
        nr.CopyTo(seed.AsSpan(ni.Length));
        BinaryPrimitives.WriteUInt64BigEndian(seed.AsSpan(ni.Length + nr.Length), spiI);
        BinaryPrimitives.WriteUInt64BigEndian(seed.AsSpan(ni.Length + nr.Length + 8), spiR);

        int prfLength = suite.Prf.OutputLength;
        int integLength = suite.Integrity?.KeyLength ?? 0;
        int encLength = suite.Cipher.KeyMaterialLength;
        var keymat = suite.Prf.PrfPlus(skeyseed, seed, 3 * prfLength + 2 * integLength + 2 * encLength);
        var k = Split(keymat, prfLength, integLength, integLength, encLength, encLength, prfLength, prfLength);
        return new IkeKeys(k[0], k[1], k[2], k[3], k[4], k[5], k[6]);
    }

    /// <summary>Cuts keying material into consecutive keys of the given lengths (RFC 7296 §2.14, §2.17).</summary>
    public static byte[][] Split(ReadOnlySpan<byte> keymat, params ReadOnlySpan<int> lengths)
    {
        var keys = new byte[lengths.Length][];
        int offset = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            keys[i] = keymat.Slice(offset, lengths[i]).ToArray();
            offset += lengths[i];
        }
        return keys;
    }

    /// <summary>KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr) (RFC 7296 §2.17).</summary>
    public static byte[] ChildKeyMaterial(Prf prf, ReadOnlySpan<byte> skD, ReadOnlySpan<byte> ni, ReadOnlySpan<byte> nr, int length,
        ReadOnlySpan<byte> sharedSecret = default) =>
        prf.PrfPlus(skD, [.. sharedSecret, .. ni, .. nr], length);

    /// <summary>
    /// The octets an AUTH payload signs (RFC 7296 §2.15):
    /// the sender's first message | the peer's nonce | prf(SK_p, RestOfIDPayload).
    /// </summary>
    public static byte[] SignedOctets(Prf prf, ReadOnlySpan<byte> firstMessage, ReadOnlySpan<byte> peerNonce,
        ReadOnlySpan<byte> skP, ReadOnlySpan<byte> idBody) =>
        [.. firstMessage, .. peerNonce, .. prf.Compute(skP, idBody)];

    /// <summary>AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), &lt;SignedOctets&gt;) (RFC 7296 §2.15).</summary>
    public static byte[] PskAuth(Prf prf, ReadOnlySpan<byte> psk, ReadOnlySpan<byte> signedOctets) =>
        prf.Compute(prf.Compute(psk, KeyPad), signedOctets);
}
