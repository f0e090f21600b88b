using System.Security.Cryptography;
using Rekindle.Control.Crypto;

namespace Rekindle.Control.Encoding;

/// <summary>
/// The keys that protect one IKE SA's messages in both directions: SK payloads we send use our keys,
/// those we receive the peer's (RFC 7296 §3.14).
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     Initialization Vector                     |
/// ~                    Encrypted IKE Payloads                     ~
/// |               |             Padding (0-255 octets)            |
/// |                                               |  Pad Length   |
/// ~                    Integrity Checksum Data                    ~
/// </code>
/// </summary>
public sealed class SkProtection(IkeCryptoSuite suite, byte[] encryptOut, byte[] integrityOut, byte[] encryptIn, byte[] integrityIn)
{
    public IkeCryptoSuite Suite { get; } = suite;

    public static SkProtection ForRole(IkeCryptoSuite suite, IkeKeys keys, bool originalInitiator) => originalInitiator
        ? new SkProtection(suite, keys.SkEi, keys.SkAi, keys.SkEr, keys.SkAr)
        : new SkProtection(suite, keys.SkEr, keys.SkAr, keys.SkEi, keys.SkAi);

    private int IcvLength => Suite.Cipher.IsAead ? Suite.Cipher.TagLength : Suite.Integrity!.IcvLength;

    /// <summary>The SK payload body length for <paramref name="plainLength"/> octets of inner payloads.</summary>
    public int ProtectedLength(int plainLength)
    {
        int block = Suite.Cipher.BlockSize;
        int padded = (plainLength + 1 + block - 1) / block * block;
        return Suite.Cipher.IvLength + padded + IcvLength;
    }

    /// <summary>
    /// Encrypts in place: <paramref name="message"/> holds the whole message with the SK body at <paramref name="skBodyOffset"/>,
    /// whose first <paramref name="plainLength"/> octets after the IV space are the plaintext inner payloads.
    /// </summary>
    public void Seal(Span<byte> message, int skBodyOffset, int plainLength)
    {
        var cipher = Suite.Cipher;
        int block = cipher.BlockSize;
        int padded = (plainLength + 1 + block - 1) / block * block;
        var iv = message.Slice(skBodyOffset, cipher.IvLength);
        RandomNumberGenerator.Fill(iv);
        var plain = message.Slice(skBodyOffset + cipher.IvLength, padded);
        int padLength = padded - plainLength - 1;
        plain.Slice(plainLength, padLength).Clear();
        plain[padded - 1] = (byte)padLength;
        var icv = message.Slice(skBodyOffset + cipher.IvLength + padded, IcvLength);
        // AEAD: the associated data is the IKE header through the SK payload header (RFC 5282 §5.1).
        var aad = message[..skBodyOffset];
        byte[] plainCopy = plain.ToArray();
        cipher.Encrypt(encryptOut, iv, plainCopy, plain, icv, aad);
        if (!cipher.IsAead)
            Suite.Integrity!.Compute(integrityOut, message[..(skBodyOffset + cipher.IvLength + padded)], icv);
    }

    /// <summary>Verifies and decrypts an SK payload body; returns the inner payload octets or null (drop silently).</summary>
    public byte[]? Open(ReadOnlySpan<byte> message, int skBodyOffset)
    {
        var cipher = Suite.Cipher;
        int bodyLength = message.Length - skBodyOffset;
        int cipherLength = bodyLength - cipher.IvLength - IcvLength;
        if (cipherLength <= 0 || cipherLength % cipher.BlockSize != 0)
            return null;
        var iv = message.Slice(skBodyOffset, cipher.IvLength);
        var encrypted = message.Slice(skBodyOffset + cipher.IvLength, cipherLength);
        var icv = message.Slice(skBodyOffset + cipher.IvLength + cipherLength, IcvLength);
        if (!cipher.IsAead && !Suite.Integrity!.Verify(integrityIn, message[..^IcvLength], icv))
            return null;
        var plain = new byte[cipherLength];
        if (!cipher.TryDecrypt(encryptIn, iv, encrypted, icv, plain, message[..skBodyOffset]))
            return null;
        int padLength = plain[^1];
        if (padLength + 1 > plain.Length)
            return null;
        return plain[..(plain.Length - padLength - 1)];
    }
}
