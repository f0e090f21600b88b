using System.Buffers.Binary;

namespace Rekindle.Control.Encoding.Payloads;

/// <summary>
/// Notify payload (RFC 7296 §3.10).
/// <code>
/// |  Protocol ID  |   SPI Size    |      Notify Message Type      |
/// ~                Security Parameter Index (SPI)                 ~
/// ~                       Notification Data                       ~
/// </code>
/// </summary>
public sealed class NotifyPayload(NotifyType notifyType, byte[]? data = null, ProtocolId protocol = ProtocolId.None, byte[]? spi = null) : Payload
{
    public override PayloadType Type => PayloadType.Notify;
    public NotifyType NotifyType { get; } = notifyType;
    public ProtocolId Protocol { get; } = protocol;
    public byte[] Spi { get; } = spi ?? [];
    public byte[] Data { get; } = data ?? [];

    public override int BodyLength => 4 + Spi.Length + Data.Length;

    public override void WriteBody(Span<byte> destination)
    {
        destination[0] = (byte)Protocol;
        destination[1] = (byte)Spi.Length;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)NotifyType);
        Spi.CopyTo(destination[4..]);
        Data.CopyTo(destination[(4 + Spi.Length)..]);
    }

    public static bool TryRead(ReadOnlySpan<byte> body, out NotifyPayload? payload)
    {
        payload = null;
        if (body.Length < 4 || 4 + body[1] > body.Length)
            return false;
        int spiSize = body[1];
        payload = new NotifyPayload((NotifyType)BinaryPrimitives.ReadUInt16BigEndian(body[2..]),
            body[(4 + spiSize)..].ToArray(), (ProtocolId)body[0], body.Slice(4, spiSize).ToArray());
        return true;
    }

    public override string ToString() => $"N({NotifyType})";
}
