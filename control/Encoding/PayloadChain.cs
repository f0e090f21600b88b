using System.Buffers.Binary;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Encoding;

/// <summary>Reads and writes a chain of payloads linked by their Next Payload fields (RFC 7296 §3.2).</summary>
public static class PayloadChain
{
    public static int GetLength(IReadOnlyList<Payload> payloads) => payloads.Sum(p => p.Length);

    /// <summary>Writes the chain; returns the type of its first payload (for the preceding header).</summary>
    public static PayloadType Write(IReadOnlyList<Payload> payloads, Span<byte> destination, PayloadType after = PayloadType.None)
    {
        int offset = 0;
        for (int i = 0; i < payloads.Count; i++)
        {
            var payload = payloads[i];
            var next = i + 1 < payloads.Count ? payloads[i + 1].Type : after;
            destination[offset] = (byte)next;
            destination[offset + 1] = payload.Critical ? (byte)0x80 : (byte)0;
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], (ushort)payload.Length);
            payload.WriteBody(destination.Slice(offset + Payload.HeaderSize, payload.BodyLength));
            offset += payload.Length;
        }
        return payloads.Count > 0 ? payloads[0].Type : after;
    }

    /// <summary>
    /// Reads payloads starting with type <paramref name="first"/>. Stops at an Encrypted (SK) payload, which must be the
    /// last one: its offset within <paramref name="source"/> and its inner first type are returned.
    /// </summary>
    public static DecodeError TryRead(PayloadType first, ReadOnlySpan<byte> source, List<Payload> payloads,
        out PayloadType unsupported, out int encryptedOffset, out PayloadType encryptedFirst)
    {
        unsupported = PayloadType.None;
        encryptedOffset = -1;
        encryptedFirst = PayloadType.None;
        var type = first;
        int offset = 0;
        while (type != PayloadType.None)
        {
            if (source.Length - offset < Payload.HeaderSize)
                return DecodeError.InvalidSyntax;
            var next = (PayloadType)source[offset];
            bool critical = (source[offset + 1] & 0x80) != 0;
            int length = BinaryPrimitives.ReadUInt16BigEndian(source[(offset + 2)..]);
            if (length < Payload.HeaderSize || length > source.Length - offset)
                return DecodeError.InvalidSyntax;
            if (type == PayloadType.Encrypted)
            {
                // The SK payload must be last (RFC 7296 §3.14); its next-payload field names the first inner payload.
                if (offset + length != source.Length)
                    return DecodeError.InvalidSyntax;
                encryptedOffset = offset;
                encryptedFirst = next;
                return DecodeError.None;
            }
            var body = source.Slice(offset + Payload.HeaderSize, length - Payload.HeaderSize);
            var payload = ReadBody(type, critical, body);
            if (payload == null)
            {
                if (!IsKnown(type))
                {
                    if (critical)
                    {
                        unsupported = type;
                        return DecodeError.UnsupportedCriticalPayload;
                    }
                }
                else
                {
                    return DecodeError.InvalidSyntax;
                }
            }
            else
            {
                payloads.Add(payload);
            }
            offset += length;
            type = next;
        }
        return offset == source.Length ? DecodeError.None : DecodeError.InvalidSyntax;
    }

    private static bool IsKnown(PayloadType type) => type is >= PayloadType.SecurityAssociation and <= PayloadType.Eap;

    private static Payload? ReadBody(PayloadType type, bool critical, ReadOnlySpan<byte> body)
    {
        Payload? payload = type switch
        {
            PayloadType.SecurityAssociation => SaPayload.TryRead(body, out var sa) == DecodeError.None ? sa : null,
            PayloadType.KeyExchange => KePayload.TryRead(body, out var ke) ? ke : null,
            PayloadType.IdInitiator => IdPayload.TryRead(true, body, out var idi) ? idi : null,
            PayloadType.IdResponder => IdPayload.TryRead(false, body, out var idr) ? idr : null,
            PayloadType.Certificate => CertPayload.TryRead(body, out var cert) ? cert : null,
            PayloadType.CertificateRequest => CertReqPayload.TryRead(body, out var certreq) ? certreq : null,
            PayloadType.Authentication => AuthPayload.TryRead(body, out var auth) ? auth : null,
            PayloadType.Nonce => NoncePayload.TryRead(body, out var nonce) ? nonce : null,
            PayloadType.Notify => NotifyPayload.TryRead(body, out var notify) ? notify : null,
            PayloadType.Delete => DeletePayload.TryRead(body, out var delete) ? delete : null,
            PayloadType.VendorId => new VendorIdPayload(body.ToArray()),
            PayloadType.TrafficSelectorInitiator => TsPayload.TryRead(true, body, out var tsi) ? tsi : null,
            PayloadType.TrafficSelectorResponder => TsPayload.TryRead(false, body, out var tsr) ? tsr : null,
            PayloadType.Configuration => CpPayload.TryRead(body, out var cp) ? cp : null,
            PayloadType.Eap => EapPayload.TryRead(body, out var eap) ? eap : null,
            _ => critical ? null : new UnknownPayload(type, body.ToArray()),
        };
        return payload;
    }
}
