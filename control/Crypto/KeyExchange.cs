using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Agreement;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Rekindle.Control.Encoding;

namespace Rekindle.Control.Crypto;

/// <summary>One side of a Diffie-Hellman exchange: our public value for the KE payload, and the shared secret g^ir.</summary>
public abstract class KeyExchange : IDisposable
{
    public abstract DhGroup Group { get; }
    public abstract byte[] PublicKey { get; }

    /// <summary>The shared secret as RFC 7296 §2.14 feeds it to SKEYSEED; null when the peer's value is invalid.</summary>
    public abstract byte[]? ComputeSharedSecret(ReadOnlySpan<byte> peerPublicKey);

    public virtual void Dispose() { }

    public static bool IsSupported(DhGroup group) => group is DhGroup.Modp2048 or DhGroup.Modp3072 or DhGroup.Ecp256 or DhGroup.Ecp384 or DhGroup.Ecp521 or DhGroup.Curve25519;

    public static KeyExchange Create(DhGroup group) => group switch
    {
        DhGroup.Modp2048 => new ModpKeyExchange(group, DHStandardGroups.rfc3526_2048),
        DhGroup.Modp3072 => new ModpKeyExchange(group, DHStandardGroups.rfc3526_3072),
        DhGroup.Ecp256 => new EcpKeyExchange(group, ECCurve.NamedCurves.nistP256, 32),
        DhGroup.Ecp384 => new EcpKeyExchange(group, ECCurve.NamedCurves.nistP384, 48),
        DhGroup.Ecp521 => new EcpKeyExchange(group, ECCurve.NamedCurves.nistP521, 66),
        DhGroup.Curve25519 => new X25519KeyExchange(),
        _ => throw new NotSupportedException($"key exchange group {group} is not supported"),
    };
}

/// <summary>MODP groups (RFC 3526) through BouncyCastle; values are left-padded to the modulus length (RFC 7296 §3.4).</summary>
internal sealed class ModpKeyExchange : KeyExchange
{
    private readonly DHParameters _parameters;
    private readonly DHPrivateKeyParameters _private;
    private readonly int _length;

    public ModpKeyExchange(DhGroup group, DHParameters parameters)
    {
        Group = group;
        _parameters = parameters;
        _length = (parameters.P.BitLength + 7) / 8;
        var generator = new Org.BouncyCastle.Crypto.Generators.DHBasicKeyPairGenerator();
        generator.Init(new DHKeyGenerationParameters(new SecureRandom(), parameters));
        var pair = generator.GenerateKeyPair();
        _private = (DHPrivateKeyParameters)pair.Private;
        PublicKey = Pad(((DHPublicKeyParameters)pair.Public).Y.ToByteArrayUnsigned());
    }

    public override DhGroup Group { get; }
    public override byte[] PublicKey { get; }

    public override byte[]? ComputeSharedSecret(ReadOnlySpan<byte> peerPublicKey)
    {
        if (peerPublicKey.Length != _length)
            return null;
        var y = new BigInteger(1, peerPublicKey.ToArray());
        // Reject 0, 1 and p-1 (small-subgroup values).
        if (y.CompareTo(BigInteger.One) <= 0 || y.CompareTo(_parameters.P.Subtract(BigInteger.One)) >= 0)
            return null;
        var agreement = new DHBasicAgreement();
        agreement.Init(_private);
        return Pad(agreement.CalculateAgreement(new DHPublicKeyParameters(y, _parameters)).ToByteArrayUnsigned());
    }

    private byte[] Pad(byte[] value)
    {
        if (value.Length == _length)
            return value;
        var padded = new byte[_length];
        value.CopyTo(padded, _length - value.Length);
        return padded;
    }
}

/// <summary>NIST ECP groups (RFC 5903) with .NET's ECDH: KE data is x | y, the shared secret is the x coordinate.</summary>
internal sealed class EcpKeyExchange : KeyExchange
{
    private readonly ECDiffieHellman _ecdh;
    private readonly ECCurve _curve;
    private readonly int _coordinateLength;

    public EcpKeyExchange(DhGroup group, ECCurve curve, int coordinateLength)
    {
        Group = group;
        _curve = curve;
        _coordinateLength = coordinateLength;
        _ecdh = ECDiffieHellman.Create(curve);
        var point = _ecdh.ExportParameters(false).Q;
        PublicKey = [.. point.X!, .. point.Y!];
    }

    public override DhGroup Group { get; }
    public override byte[] PublicKey { get; }

    public override byte[]? ComputeSharedSecret(ReadOnlySpan<byte> peerPublicKey)
    {
        if (peerPublicKey.Length != 2 * _coordinateLength)
            return null;
        try
        {
            using var peer = ECDiffieHellman.Create(new ECParameters
            {
                Curve = _curve,
                Q = new ECPoint { X = peerPublicKey[.._coordinateLength].ToArray(), Y = peerPublicKey[_coordinateLength..].ToArray() },
            });
            return _ecdh.DeriveRawSecretAgreement(peer.PublicKey);
        }
        catch (CryptographicException)
        {
            return null; // not a point on the curve
        }
    }

    public override void Dispose() => _ecdh.Dispose();
}

/// <summary>Curve25519 (RFC 8031) through BouncyCastle.</summary>
internal sealed class X25519KeyExchange : KeyExchange
{
    private readonly X25519PrivateKeyParameters _private = new(new SecureRandom());

    public X25519KeyExchange() => PublicKey = _private.GeneratePublicKey().GetEncoded();

    public override DhGroup Group => DhGroup.Curve25519;
    public override byte[] PublicKey { get; }

    public override byte[]? ComputeSharedSecret(ReadOnlySpan<byte> peerPublicKey)
    {
        if (peerPublicKey.Length != X25519PublicKeyParameters.KeySize)
            return null;
        var secret = new byte[X25519PrivateKeyParameters.SecretSize];
        var agreement = new X25519Agreement();
        agreement.Init(_private);
        try
        {
            agreement.CalculateAgreement(new X25519PublicKeyParameters(peerPublicKey.ToArray()), secret, 0);
        }
        catch (InvalidOperationException)
        {
            return null; // all-zero result: a low-order point (RFC 8031 §2)
        }
        return secret;
    }
}
