using System.Buffers.Binary;
using System.Security.Cryptography;
using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding;

namespace Rekindle.Dataplane.Esp;

/// <summary>
/// ESP in tunnel mode (RFC 4303), sealed and opened in place in a buffer with headroom for the ESP header and IV.
/// <code>
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |               Security Parameters Index (SPI)                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                      Sequence Number                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    IV (8 octets GCM, 16 CBC)                  |
/// ~                    Payload Data (the inner IP packet)         ~
/// |               |     Padding (0-255 bytes)                     |
/// |                               |  Pad Length   | Next Header   |
/// ~             Integrity Check Value (16 GCM, 16/24/32 HMAC)     ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// AES-GCM (RFC 4106): nonce = salt | IV, the IV being the 64-bit sequence number; AAD = SPI | [Seq high |] Seq low.
/// AES-CBC with HMAC-SHA2 (RFC 3602, RFC 4868): random IV, ICV over SPI..ciphertext plus the ESN high half.
/// One instance per SA and direction; not thread-safe (as .NET's AesGcm).
/// </summary>
public sealed class EspTransform : IDisposable
{
    public const int HeaderLength = 8;
    private const int SaltLength = 4;
    private readonly AesGcm? _gcm;
    private readonly Aes? _aes;
    private readonly IncrementalHash? _hmac;
    private readonly byte[] _salt = new byte[SaltLength];

    public EspTransform(ChildCryptoSuite suite, ReadOnlySpan<byte> encryptionKey, ReadOnlySpan<byte> integrityKey)
    {
        Suite = suite;
        if (suite.Cipher.Id == EncryptionId.AesGcm16)
        {
            int keyLength = suite.Cipher.KeyBits / 8;
            _gcm = new AesGcm(encryptionKey[..keyLength], 16);
            encryptionKey.Slice(keyLength, SaltLength).CopyTo(_salt);
            IvLength = 8;
            IcvLength = 16;
            BlockSize = 4;
        }
        else if (suite.Cipher.Id == EncryptionId.AesCbc && suite.Integrity != null)
        {
            _aes = Aes.Create();
            _aes.Key = encryptionKey.ToArray();
            _hmac = IncrementalHash.CreateHMAC(HashFor(suite.Integrity.Id), integrityKey);
            IvLength = 16;
            IcvLength = suite.Integrity.IcvLength;
            BlockSize = 16;
        }
        else
        {
            throw new NotSupportedException($"ESP transform {suite} is not supported by the userspace data plane");
        }
    }

    public ChildCryptoSuite Suite { get; }
    public int IvLength { get; }
    public int IcvLength { get; }
    private int BlockSize { get; }

    /// <summary>Octets in front of the inner packet: ESP header and IV.</summary>
    public int Headroom => HeaderLength + IvLength;

    /// <summary>The most an ESP packet can add to an inner packet of <paramref name="innerLength"/> octets.</summary>
    public int SealedLength(int innerLength) => Headroom + Padded(innerLength) + IcvLength;

    private int Padded(int innerLength) => (innerLength + 2 + BlockSize - 1) / BlockSize * BlockSize;

    /// <summary>
    /// Seals the inner packet that starts at <c>Headroom</c> in <paramref name="buffer"/> and is
    /// <paramref name="innerLength"/> long; returns the ESP packet length (from offset 0).
    /// </summary>
    public int Seal(Span<byte> buffer, int innerLength, uint spi, ulong sequence, byte nextHeader)
    {
        int padded = Padded(innerLength);
        var payload = buffer.Slice(Headroom, padded);
        int padLength = padded - innerLength - 2;
        for (int i = 0; i < padLength; i++)
            payload[innerLength + i] = (byte)(i + 1); // monotonic padding (RFC 4303 §2.4)
        payload[padded - 2] = (byte)padLength;
        payload[padded - 1] = nextHeader;
        BinaryPrimitives.WriteUInt32BigEndian(buffer, spi);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[4..], (uint)sequence);
        var iv = buffer.Slice(HeaderLength, IvLength);
        var icv = buffer.Slice(Headroom + padded, IcvLength);
        if (_gcm != null)
        {
            BinaryPrimitives.WriteUInt64BigEndian(iv, sequence);
            Span<byte> nonce = stackalloc byte[12];
            _salt.CopyTo(nonce);
            iv.CopyTo(nonce[SaltLength..]);
            Span<byte> aad = stackalloc byte[12];
            int aadLength = Aad(aad, spi, sequence);
            _gcm.Encrypt(nonce, payload, payload, icv, aad[..aadLength]);
        }
        else
        {
            RandomNumberGenerator.Fill(iv);
            _aes!.EncryptCbc(payload, iv, payload, PaddingMode.None);
            ComputeIcv(buffer[..(Headroom + padded)], sequence, icv);
        }
        return Headroom + padded + IcvLength;
    }

    /// <summary>
    /// Verifies and decrypts an ESP packet in place. On success the inner packet is at <c>Headroom</c>, of
    /// <paramref name="innerLength"/> octets, with <paramref name="nextHeader"/> naming its protocol.
    /// </summary>
    public bool TryOpen(Span<byte> packet, ulong sequence, out int innerLength, out byte nextHeader)
    {
        innerLength = 0;
        nextHeader = 0;
        int payloadLength = packet.Length - Headroom - IcvLength;
        if (payloadLength < BlockSize || payloadLength % BlockSize != 0)
            return false;
        var iv = packet.Slice(HeaderLength, IvLength);
        var payload = packet.Slice(Headroom, payloadLength);
        var icv = packet.Slice(Headroom + payloadLength, IcvLength);
        if (_gcm != null)
        {
            Span<byte> nonce = stackalloc byte[12];
            _salt.CopyTo(nonce);
            iv.CopyTo(nonce[SaltLength..]);
            Span<byte> aad = stackalloc byte[12];
            int aadLength = Aad(aad, BinaryPrimitives.ReadUInt32BigEndian(packet), sequence);
            try
            {
                _gcm.Decrypt(nonce, payload, icv, payload, aad[..aadLength]);
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
        }
        else
        {
            Span<byte> expected = stackalloc byte[IcvLength];
            ComputeIcv(packet[..(Headroom + payloadLength)], sequence, expected);
            if (!CryptographicOperations.FixedTimeEquals(expected, icv))
                return false;
            _aes!.DecryptCbc(payload, iv, payload, PaddingMode.None);
        }
        int padLength = payload[payloadLength - 2];
        nextHeader = payload[payloadLength - 1];
        innerLength = payloadLength - 2 - padLength;
        return innerLength > 0;
    }

    private int Aad(Span<byte> aad, uint spi, ulong sequence)
    {
        BinaryPrimitives.WriteUInt32BigEndian(aad, spi);
        if (Suite.Esn)
        {
            BinaryPrimitives.WriteUInt64BigEndian(aad[4..], sequence);
            return 12;
        }
        BinaryPrimitives.WriteUInt32BigEndian(aad[4..], (uint)sequence);
        return 8;
    }

    private void ComputeIcv(ReadOnlySpan<byte> covered, ulong sequence, Span<byte> icv)
    {
        _hmac!.AppendData(covered);
        if (Suite.Esn)
        {
            Span<byte> high = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(high, (uint)(sequence >> 32));
            _hmac.AppendData(high); // the high half is covered but not sent (RFC 4303 §2.2.1)
        }
        Span<byte> full = stackalloc byte[64];
        int written = _hmac.GetHashAndReset(full);
        full[..IcvLength].CopyTo(icv);
        _ = written;
    }

    private static HashAlgorithmName HashFor(IntegrityId id) => id switch
    {
        IntegrityId.HmacSha256_128 => HashAlgorithmName.SHA256,
        IntegrityId.HmacSha384_192 => HashAlgorithmName.SHA384,
        IntegrityId.HmacSha512_256 => HashAlgorithmName.SHA512,
        IntegrityId.HmacSha1_96 => HashAlgorithmName.SHA1,
        _ => throw new NotSupportedException($"integrity {id}"),
    };

    public void Dispose()
    {
        _gcm?.Dispose();
        _aes?.Dispose();
        _hmac?.Dispose();
    }
}
