using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Crypto;

/// <summary>The algorithms of one negotiated IKE SA proposal.</summary>
public sealed record IkeCryptoSuite(Cipher Cipher, Integrity? Integrity, Prf Prf, DhGroup Group)
{
    /// <summary>Builds the suite from a proposal that holds exactly one transform of each type.</summary>
    public static IkeCryptoSuite FromProposal(Proposal proposal)
    {
        var encr = proposal.Find(TransformType.Encryption) ?? throw new ArgumentException("proposal without encryption");
        var prf = proposal.Find(TransformType.Prf) ?? throw new ArgumentException("proposal without PRF");
        var integ = proposal.Find(TransformType.Integrity);
        var ke = proposal.Find(TransformType.KeyExchange);
        var cipher = Cipher.Create((EncryptionId)encr.Id, encr.KeyLength);
        Integrity? integrity = integ is { Id: not 0 } i ? Integrity.Create((IntegrityId)i.Id) : null;
        if (!cipher.IsAead && integrity == null)
            throw new ArgumentException("a non-AEAD cipher needs an integrity transform");
        return new IkeCryptoSuite(cipher, integrity, Prf.Create((PrfId)prf.Id), ke is { } k ? (DhGroup)k.Id : DhGroup.None);
    }

    public override string ToString() =>
        $"{AlgorithmNames.Encryption(Cipher.Id, Cipher.KeyBits)}/{(Integrity is null ? "" : AlgorithmNames.Integrity(Integrity.Id) + "/")}{AlgorithmNames.Prf(Prf.Id)}/{AlgorithmNames.Group(Group)}";
}

/// <summary>Names as strongSwan prints them (swanctl --list-sas), so the two can be compared side by side.</summary>
public static class AlgorithmNames
{
    public static string Encryption(EncryptionId id, int keyBits) => id switch
    {
        EncryptionId.AesCbc => $"AES_CBC-{keyBits}",
        EncryptionId.AesGcm16 => $"AES_GCM_16-{keyBits}",
        _ => $"{id}-{keyBits}",
    };

    public static string Integrity(IntegrityId id) => id switch
    {
        IntegrityId.HmacSha256_128 => "HMAC_SHA2_256_128",
        IntegrityId.HmacSha384_192 => "HMAC_SHA2_384_192",
        IntegrityId.HmacSha512_256 => "HMAC_SHA2_512_256",
        IntegrityId.HmacSha1_96 => "HMAC_SHA1_96",
        _ => id.ToString(),
    };

    public static string Prf(PrfId id) => id switch
    {
        PrfId.HmacSha256 => "PRF_HMAC_SHA2_256",
        PrfId.HmacSha384 => "PRF_HMAC_SHA2_384",
        PrfId.HmacSha512 => "PRF_HMAC_SHA2_512",
        PrfId.HmacSha1 => "PRF_HMAC_SHA1",
        _ => id.ToString(),
    };

    public static string Group(DhGroup group) => group switch
    {
        DhGroup.Modp2048 => "MODP_2048",
        DhGroup.Modp3072 => "MODP_3072",
        DhGroup.Ecp256 => "ECP_256",
        DhGroup.Ecp384 => "ECP_384",
        DhGroup.Ecp521 => "ECP_521",
        DhGroup.Curve25519 => "CURVE_25519",
        _ => group.ToString(),
    };
}
