using System.Security.Cryptography;
using Rekindle.Control.Encoding;

namespace Rekindle.Control.Crypto;

/// <summary>A truncated-HMAC integrity transform (RFC 4868 for SHA-2).</summary>
public sealed class Integrity
{
    private readonly HashAlgorithmName _hash;

    private Integrity(IntegrityId id, HashAlgorithmName hash, int keyLength, int icvLength)
    {
        Id = id;
        _hash = hash;
        KeyLength = keyLength;
        IcvLength = icvLength;
    }

    public IntegrityId Id { get; }
    public int KeyLength { get; }
    public int IcvLength { get; }

    public static Integrity Create(IntegrityId id) => id switch
    {
        IntegrityId.HmacSha256_128 => new Integrity(id, HashAlgorithmName.SHA256, 32, 16),
        IntegrityId.HmacSha384_192 => new Integrity(id, HashAlgorithmName.SHA384, 48, 24),
        IntegrityId.HmacSha512_256 => new Integrity(id, HashAlgorithmName.SHA512, 64, 32),
        IntegrityId.HmacSha1_96 => new Integrity(id, HashAlgorithmName.SHA1, 20, 12),
        _ => throw new NotSupportedException($"integrity algorithm {id} is not supported"),
    };

    public void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> icv)
    {
        Span<byte> full = stackalloc byte[64];
        int written = CryptographicOperations.HmacData(_hash, key, data, full);
        full[..IcvLength].CopyTo(icv);
        _ = written;
    }

    public bool Verify(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, ReadOnlySpan<byte> icv)
    {
        Span<byte> expected = stackalloc byte[IcvLength];
        Compute(key, data, expected);
        return icv.Length == IcvLength && CryptographicOperations.FixedTimeEquals(expected, icv);
    }
}
