using System.Security.Cryptography;
using Rekindle.Control.Encoding;

namespace Rekindle.Control.Crypto;

/// <summary>
/// An encryption transform for the SK payload and ESP: AES-CBC (RFC 3602, with a separate integrity transform)
/// or AES-GCM with a 16-octet ICV (RFC 5282: 8-octet explicit IV, 4-octet salt at the end of the key material).
/// </summary>
public abstract class Cipher
{
    public abstract EncryptionId Id { get; }
    public abstract int KeyBits { get; }
    /// <summary>Octets of key material taken from prf+ (key plus salt for GCM).</summary>
    public abstract int KeyMaterialLength { get; }
    public abstract int IvLength { get; }
    public abstract int BlockSize { get; }
    public abstract bool IsAead { get; }
    /// <summary>ICV appended by the cipher itself (AEAD only).</summary>
    public virtual int TagLength => 0;

    public abstract void Encrypt(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> plaintext,
        Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> aad);

    public abstract bool TryDecrypt(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> ciphertext,
        ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> aad);

    public static Cipher Create(EncryptionId id, int keyBits) => (id, keyBits) switch
    {
        (EncryptionId.AesCbc, 128 or 192 or 256) => new AesCbcCipher(keyBits),
        (EncryptionId.AesGcm16, 128 or 192 or 256) => new AesGcm16Cipher(keyBits),
        _ => throw new NotSupportedException($"encryption {id} with {keyBits}-bit key is not supported"),
    };
}

public sealed class AesCbcCipher(int keyBits) : Cipher
{
    public override EncryptionId Id => EncryptionId.AesCbc;
    public override int KeyBits { get; } = keyBits;
    public override int KeyMaterialLength => KeyBits / 8;
    public override int IvLength => 16;
    public override int BlockSize => 16;
    public override bool IsAead => false;

    public override void Encrypt(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> plaintext,
        Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> aad)
    {
        using var aes = Aes.Create();
        aes.Key = keyMaterial.ToArray();
        aes.EncryptCbc(plaintext, iv, ciphertext, PaddingMode.None);
    }

    public override bool TryDecrypt(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> ciphertext,
        ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> aad)
    {
        if (ciphertext.Length % BlockSize != 0 || ciphertext.IsEmpty)
            return false;
        using var aes = Aes.Create();
        aes.Key = keyMaterial.ToArray();
        aes.DecryptCbc(ciphertext, iv, plaintext, PaddingMode.None);
        return true;
    }
}

public sealed class AesGcm16Cipher(int keyBits) : Cipher
{
    private const int SaltLength = 4;

    public override EncryptionId Id => EncryptionId.AesGcm16;
    public override int KeyBits { get; } = keyBits;
    public override int KeyMaterialLength => KeyBits / 8 + SaltLength;
    public override int IvLength => 8;
    public override int BlockSize => 1;
    public override bool IsAead => true;
    public override int TagLength => 16;

    public override void Encrypt(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> plaintext,
        Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> aad)
    {
        Span<byte> nonce = stackalloc byte[12];
        using var gcm = Open(keyMaterial, iv, nonce);
        gcm.Encrypt(nonce, plaintext, ciphertext, tag, aad);
    }

    public override bool TryDecrypt(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> ciphertext,
        ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> aad)
    {
        Span<byte> nonce = stackalloc byte[12];
        using var gcm = Open(keyMaterial, iv, nonce);
        try
        {
            gcm.Decrypt(nonce, ciphertext, tag, plaintext, aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    private AesGcm Open(ReadOnlySpan<byte> keyMaterial, ReadOnlySpan<byte> iv, Span<byte> nonce)
    {
        int keyLength = KeyBits / 8;
        keyMaterial.Slice(keyLength, SaltLength).CopyTo(nonce);
        iv.CopyTo(nonce[SaltLength..]);
        return new AesGcm(keyMaterial[..keyLength], TagLength);
    }
}
