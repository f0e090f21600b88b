using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding;

namespace Rekindle.Xfrm;

/// <summary>The kernel crypto API names of the ESP transforms, and the modules that provide them.</summary>
public static class XfrmAlgorithms
{
    public static string Encryption(Cipher cipher) => cipher.Id switch
    {
        EncryptionId.AesGcm16 => "rfc4106(gcm(aes))",
        EncryptionId.AesCbc => "cbc(aes)",
        var other => throw new NotSupportedException($"no kernel name for {other}"),
    };

    public static (string Name, int TruncationBits) Integrity(Integrity integrity) => integrity.Id switch
    {
        IntegrityId.HmacSha256_128 => ("hmac(sha256)", 128),
        IntegrityId.HmacSha384_192 => ("hmac(sha384)", 192),
        IntegrityId.HmacSha512_256 => ("hmac(sha512)", 256),
        IntegrityId.HmacSha1_96 => ("hmac(sha1)", 96),
        var other => throw new NotSupportedException($"no kernel name for {other}"),
    };

    /// <summary>What to load when the kernel refuses an SA with this suite.</summary>
    public static string Modules(ChildCryptoSuite suite) =>
        "esp4/esp6 (CONFIG_INET_ESP), xfrm_user" + (suite.Cipher.Id == EncryptionId.AesGcm16
            ? ", gcm, ghash, aesni_intel or aes_generic, seqiv (for rfc4106(gcm(aes)))"
            : $", cbc, authenc, {Integrity(suite.Integrity!).Name.Replace("hmac(", "").TrimEnd(')')}, aesni_intel or aes_generic");
}
