using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;

namespace Rekindle.Control.Engine;

/// <summary>
/// Stateless COOKIEs (RFC 7296 §2.6): Cookie = &lt;VersionIDofSecret&gt; | Hash(Ni | IPi | SPIi | &lt;secret&gt;).
/// The secret is replaced periodically; the previous one is still accepted.
/// </summary>
public sealed class CookieJar
{
    private byte[] _secret = RandomNumberGenerator.GetBytes(32);
    private byte[] _previous = RandomNumberGenerator.GetBytes(32);
    private byte _version;

    public void Rotate()
    {
        _previous = _secret;
        _secret = RandomNumberGenerator.GetBytes(32);
        _version++;
    }

    public byte[] Make(ReadOnlySpan<byte> nonce, IPAddress initiator, ulong spiI) => Make(nonce, initiator, spiI, _version, _secret);

    public bool Verify(ReadOnlySpan<byte> cookie, ReadOnlySpan<byte> nonce, IPAddress initiator, ulong spiI)
    {
        if (cookie.Length != 33)
            return false;
        var secret = cookie[0] == _version ? _secret : cookie[0] == (byte)(_version - 1) ? _previous : null;
        return secret != null && CryptographicOperations.FixedTimeEquals(cookie, Make(nonce, initiator, spiI, cookie[0], secret));
    }

    private static byte[] Make(ReadOnlySpan<byte> nonce, IPAddress initiator, ulong spiI, byte version, byte[] secret)
    {
        var address = initiator.GetAddressBytes();
        var data = new byte[nonce.Length + address.Length + 8 + secret.Length];
        nonce.CopyTo(data);
        address.CopyTo(data, nonce.Length);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(nonce.Length + address.Length), spiI);
        secret.CopyTo(data, nonce.Length + address.Length + 8);
        return [version, .. SHA256.HashData(data)];
    }
}
