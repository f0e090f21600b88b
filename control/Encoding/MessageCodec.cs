using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Encoding;

/// <summary>Turns <see cref="IkeMessage"/>s into datagrams and back, sealing and opening the SK payload.</summary>
public static class MessageCodec
{
    /// <summary>Encodes a message; with <paramref name="protection"/>, all payloads go inside one SK payload.</summary>
    public static byte[] Encode(IkeMessage message, SkProtection? protection)
    {
        int plainLength = PayloadChain.GetLength(message.Payloads);
        int bodyLength = protection == null ? plainLength : Payload.HeaderSize + protection.ProtectedLength(plainLength);
        var buffer = new byte[IkeHeader.Size + bodyLength];
        PayloadType first;
        if (protection == null)
        {
            first = PayloadChain.Write(message.Payloads, buffer.AsSpan(IkeHeader.Size));
        }
        else
        {
            int skOffset = IkeHeader.Size;
            int innerOffset = skOffset + Payload.HeaderSize + protection.Suite.Cipher.IvLength;
            var innerFirst = PayloadChain.Write(message.Payloads, buffer.AsSpan(innerOffset, plainLength));
            buffer[skOffset] = (byte)innerFirst;
            buffer[skOffset + 1] = 0;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(skOffset + 2), (ushort)bodyLength);
            first = PayloadType.Encrypted;
            WriteHeader(message, first, buffer);
            protection.Seal(buffer, skOffset + Payload.HeaderSize, plainLength);
            return buffer;
        }
        WriteHeader(message, first, buffer);
        return buffer;
    }

    private static void WriteHeader(IkeMessage message, PayloadType first, Span<byte> buffer) =>
        new IkeHeader(message.InitiatorSpi, message.ResponderSpi, first, message.Exchange, message.Flags, message.MessageId, (uint)buffer.Length)
            .Write(buffer);

    /// <summary>
    /// Decodes a datagram whose header was already read. <paramref name="protection"/> opens the SK payload; null when
    /// the exchange is unprotected (or no keys exist yet, in which case a protected message is dropped).
    /// </summary>
    public static DecodeResult Decode(ReadOnlySpan<byte> datagram, in IkeHeader header, SkProtection? protection)
    {
        if (header.Version >> 4 != 2)
            return DecodeResult.Fail(DecodeError.Drop);
        var data = datagram[..(int)header.Length];
        var payloads = new List<Payload>();
        var error = PayloadChain.TryRead(header.NextPayload, data[IkeHeader.Size..], payloads, out var unsupported, out int skOffset, out var innerFirst);
        if (error != DecodeError.None)
            return DecodeResult.Fail(error, unsupported);
        bool isProtected = skOffset >= 0;
        if (PayloadRules.IsProtected(header.Exchange))
        {
            if (!isProtected || payloads.Count > 0 || protection == null)
                return DecodeResult.Fail(protection == null ? DecodeError.Drop : DecodeError.InvalidSyntax);
            var inner = protection.Open(data, IkeHeader.Size + skOffset + Payload.HeaderSize);
            if (inner == null)
                return DecodeResult.Fail(DecodeError.Drop); // integrity failure: silently discarded (RFC 7296 §2.21.2)
            error = PayloadChain.TryRead(innerFirst, inner, payloads, out unsupported, out int nested, out _);
            if (error != DecodeError.None)
                return DecodeResult.Fail(error, unsupported);
            if (nested >= 0)
                return DecodeResult.Fail(DecodeError.InvalidSyntax);
        }
        else if (isProtected)
        {
            return DecodeResult.Fail(DecodeError.InvalidSyntax);
        }
        var message = new IkeMessage
        {
            InitiatorSpi = header.InitiatorSpi,
            ResponderSpi = header.ResponderSpi,
            Exchange = header.Exchange,
            IsResponse = header.IsResponse,
            FromInitiator = header.IsFromInitiator,
            MessageId = header.MessageId,
            Payloads = payloads,
            Protected = isProtected,
        };
        if (!PayloadRules.Check(message))
            return new DecodeResult(DecodeError.InvalidSyntax, message, PayloadType.None);
        return new DecodeResult(DecodeError.None, message, PayloadType.None);
    }
}

public readonly record struct DecodeResult(DecodeError Error, IkeMessage? Message, PayloadType UnsupportedType)
{
    public static DecodeResult Fail(DecodeError error, PayloadType unsupported = PayloadType.None) => new(error, null, unsupported);
}
