using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Crypto;

/// <summary>The algorithms of one negotiated ESP proposal, and how much keying material each direction takes.</summary>
public sealed record ChildCryptoSuite(Cipher Cipher, Integrity? Integrity, bool Esn)
{
    public int KeyMaterialPerDirection => Cipher.KeyMaterialLength + (Integrity?.KeyLength ?? 0);

    public static ChildCryptoSuite FromProposal(Proposal proposal)
    {
        var encr = proposal.Find(TransformType.Encryption) ?? throw new ArgumentException("ESP proposal without encryption");
        var integ = proposal.Find(TransformType.Integrity);
        var esn = proposal.Find(TransformType.ExtendedSequenceNumbers);
        var cipher = Cipher.Create((EncryptionId)encr.Id, encr.KeyLength);
        Integrity? integrity = integ is { Id: not 0 } i ? Integrity.Create((IntegrityId)i.Id) : null;
        return new ChildCryptoSuite(cipher, integrity, esn is { Id: (ushort)EsnId.Esn });
    }

    public override string ToString() =>
        AlgorithmNames.Encryption(Cipher.Id, Cipher.KeyBits) + (Integrity is null ? "" : "/" + AlgorithmNames.Integrity(Integrity.Id)) + (Esn ? "/ESN" : "");
}

/// <summary>Keys of one CHILD SA direction pair, split from KEYMAT (RFC 7296 §2.17).</summary>
public sealed record ChildKeys(byte[] EncryptionIr, byte[] IntegrityIr, byte[] EncryptionRi, byte[] IntegrityRi)
{
    public static ChildKeys Split(ChildCryptoSuite suite, byte[] keymat)
    {
        int enc = suite.Cipher.KeyMaterialLength, integ = suite.Integrity?.KeyLength ?? 0;
        var k = KeyDerivation.Split(keymat, enc, integ, enc, integ);
        return new ChildKeys(k[0], k[1], k[2], k[3]);
    }
}
