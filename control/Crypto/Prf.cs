using System.Security.Cryptography;
using Rekindle.Control.Encoding;

namespace Rekindle.Control.Crypto;

/// <summary>A pseudo-random function (RFC 7296 §2.13), here always an HMAC.</summary>
public sealed class Prf
{
    private readonly HashAlgorithmName _hash;

    private Prf(PrfId id, HashAlgorithmName hash, int outputLength)
    {
        Id = id;
        _hash = hash;
        OutputLength = outputLength;
    }

    public PrfId Id { get; }

    /// <summary>Output size, and the preferred key size for SK_d, SK_pi and SK_pr (RFC 7296 §2.14).</summary>
    public int OutputLength { get; }

    public static Prf Create(PrfId id) => id switch
    {
        PrfId.HmacSha256 => new Prf(id, HashAlgorithmName.SHA256, 32),
        PrfId.HmacSha384 => new Prf(id, HashAlgorithmName.SHA384, 48),
        PrfId.HmacSha512 => new Prf(id, HashAlgorithmName.SHA512, 64),
        PrfId.HmacSha1 => new Prf(id, HashAlgorithmName.SHA1, 20),
        _ => throw new NotSupportedException($"PRF {id} is not supported"),
    };

    public byte[] Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data) => CryptographicOperations.HmacData(_hash, key, data);

    public void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> destination) =>
        CryptographicOperations.HmacData(_hash, key, data, destination);

    /// <summary>
    /// prf+ (RFC 7296 §2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), concatenated to <paramref name="length"/> octets.
    /// </summary>
    public byte[] PrfPlus(ReadOnlySpan<byte> key, ReadOnlySpan<byte> seed, int length)
    {
        if (length > 255 * OutputLength)
            throw new ArgumentOutOfRangeException(nameof(length), "prf+ can produce at most 255 blocks");
        var output = new byte[length];
        var input = new byte[OutputLength + seed.Length + 1];
        Span<byte> block = stackalloc byte[OutputLength];
        int produced = 0, previous = 0;
        for (byte counter = 1; produced < length; counter++)
        {
            block[..previous].CopyTo(input);
            seed.CopyTo(input.AsSpan(previous));
            input[previous + seed.Length] = counter;
            Compute(key, input.AsSpan(0, previous + seed.Length + 1), block);
            int take = Math.Min(OutputLength, length - produced);
            block[..take].CopyTo(output.AsSpan(produced));
            produced += take;
            previous = OutputLength;
        }
        return output;
    }
}
