using System.Buffers.Binary;

namespace Rekindle.Control.Encoding.Payloads;

/// <summary>
/// Payloads whose body is a short fixed prefix followed by opaque data:
/// KE (§3.4), ID (§3.5), CERT (§3.6), CERTREQ (§3.7), AUTH (§3.8), Nonce (§3.9), Vendor ID (§3.12), EAP (§3.16).
/// </summary>
public abstract class DataPayload(byte[] data) : Payload
{
    public byte[] Data { get; } = data;

    /// <summary>Octets between the generic header and the data.</summary>
    protected abstract int PrefixLength { get; }

    protected abstract void WritePrefix(Span<byte> destination);

    public override int BodyLength => PrefixLength + Data.Length;

    public override void WriteBody(Span<byte> destination)
    {
        destination[..PrefixLength].Clear();
        WritePrefix(destination);
        Data.CopyTo(destination[PrefixLength..]);
    }
}

/// <summary>Key Exchange payload: | DH Group Num (2) | RESERVED (2) | Key Exchange Data ~ |</summary>
public sealed class KePayload(DhGroup group, byte[] data) : DataPayload(data)
{
    public override PayloadType Type => PayloadType.KeyExchange;
    public DhGroup Group { get; } = group;
    protected override int PrefixLength => 4;
    protected override void WritePrefix(Span<byte> d) => BinaryPrimitives.WriteUInt16BigEndian(d, (ushort)Group);

    public static bool TryRead(ReadOnlySpan<byte> body, out KePayload? payload)
    {
        payload = body.Length > 4 ? new KePayload((DhGroup)BinaryPrimitives.ReadUInt16BigEndian(body), body[4..].ToArray()) : null;
        return payload != null;
    }
}

/// <summary>Identification payload (IDi or IDr): | ID Type | RESERVED (3) | Identification Data ~ |</summary>
public sealed class IdPayload(bool initiator, IdType idType, byte[] data) : DataPayload(data)
{
    public override PayloadType Type => Initiator ? PayloadType.IdInitiator : PayloadType.IdResponder;
    public bool Initiator { get; } = initiator;
    public IdType IdType { get; } = idType;
    protected override int PrefixLength => 4;
    protected override void WritePrefix(Span<byte> d) => d[0] = (byte)IdType;

    /// <summary>The octets AUTH covers: the body without the generic header (RFC 7296 §2.15 RestOfInitIDPayload).</summary>
    public byte[] BodyBytes()
    {
        var body = new byte[BodyLength];
        WriteBody(body);
        return body;
    }

    public static bool TryRead(bool initiator, ReadOnlySpan<byte> body, out IdPayload? payload)
    {
        payload = body.Length > 4 ? new IdPayload(initiator, (IdType)body[0], body[4..].ToArray()) : null;
        return payload != null;
    }
}

/// <summary>CERT (§3.6) and CERTREQ (§3.7) payloads: | Cert Encoding | Certificate Data or Certification Authority ~ |</summary>
public abstract class EncodedCertificatePayload(byte encoding, byte[] data) : DataPayload(data)
{
    public byte Encoding { get; } = encoding;
    protected override int PrefixLength => 1;
    protected override void WritePrefix(Span<byte> d) => d[0] = Encoding;
}

public sealed class CertPayload(byte encoding, byte[] data) : EncodedCertificatePayload(encoding, data)
{
    public override PayloadType Type => PayloadType.Certificate;

    public static bool TryRead(ReadOnlySpan<byte> body, out CertPayload? payload)
    {
        payload = body.Length >= 1 ? new CertPayload(body[0], body[1..].ToArray()) : null;
        return payload != null;
    }
}

public sealed class CertReqPayload(byte encoding, byte[] data) : EncodedCertificatePayload(encoding, data)
{
    public override PayloadType Type => PayloadType.CertificateRequest;

    public static bool TryRead(ReadOnlySpan<byte> body, out CertReqPayload? payload)
    {
        payload = body.Length >= 1 ? new CertReqPayload(body[0], body[1..].ToArray()) : null;
        return payload != null;
    }
}

/// <summary>Authentication payload: | Auth Method | RESERVED (3) | Authentication Data ~ |</summary>
public sealed class AuthPayload(AuthMethod method, byte[] data) : DataPayload(data)
{
    public override PayloadType Type => PayloadType.Authentication;
    public AuthMethod Method { get; } = method;
    protected override int PrefixLength => 4;
    protected override void WritePrefix(Span<byte> d) => d[0] = (byte)Method;

    public static bool TryRead(ReadOnlySpan<byte> body, out AuthPayload? payload)
    {
        payload = body.Length > 4 ? new AuthPayload((AuthMethod)body[0], body[4..].ToArray()) : null;
        return payload != null;
    }
}

/// <summary>Nonce payload: | Nonce Data (16..256 octets) ~ |</summary>
public sealed class NoncePayload(byte[] data) : DataPayload(data)
{
    public const int MinLength = 16, MaxLength = 256;
    public override PayloadType Type => PayloadType.Nonce;
    protected override int PrefixLength => 0;
    protected override void WritePrefix(Span<byte> d) { }

    public static bool TryRead(ReadOnlySpan<byte> body, out NoncePayload? payload)
    {
        payload = body.Length is >= MinLength and <= MaxLength ? new NoncePayload(body.ToArray()) : null;
        return payload != null;
    }
}

/// <summary>Vendor ID payload: | Vendor ID (VID) ~ |</summary>
public sealed class VendorIdPayload(byte[] data) : DataPayload(data)
{
    public override PayloadType Type => PayloadType.VendorId;
    protected override int PrefixLength => 0;
    protected override void WritePrefix(Span<byte> d) { }
}

/// <summary>EAP payload: | EAP Message ~ | (Code, Identifier, Length, Type, data; RFC 3748).</summary>
public sealed class EapPayload(byte[] data) : DataPayload(data)
{
    public override PayloadType Type => PayloadType.Eap;
    protected override int PrefixLength => 0;
    protected override void WritePrefix(Span<byte> d) { }

    public static bool TryRead(ReadOnlySpan<byte> body, out EapPayload? payload)
    {
        // The EAP length field must match the payload body.
        payload = body.Length >= 4 && BinaryPrimitives.ReadUInt16BigEndian(body[2..]) == body.Length ? new EapPayload(body.ToArray()) : null;
        return payload != null;
    }
}

/// <summary>A payload type this implementation does not know; kept so that a non-critical one can be skipped.</summary>
public sealed class UnknownPayload(PayloadType type, byte[] data) : DataPayload(data)
{
    public override PayloadType Type { get; } = type;
    protected override int PrefixLength => 0;
    protected override void WritePrefix(Span<byte> d) { }
}
