using System.Buffers.Binary;

namespace Rekindle.Control.Encoding.Payloads;

/// <summary>
/// Delete payload (RFC 7296 §3.11). For IKE the SPI size is 0 and there are no SPIs; for ESP/AH each SPI is 4 octets.
/// <code>
/// | Protocol ID   |   SPI Size    |          Num of SPIs          |
/// ~               Security Parameter Index(es) (SPI)              ~
/// </code>
/// </summary>
public sealed class DeletePayload(ProtocolId protocol, IReadOnlyList<uint> spis) : Payload
{
    public override PayloadType Type => PayloadType.Delete;
    public ProtocolId Protocol { get; } = protocol;
    public IReadOnlyList<uint> Spis { get; } = spis;

    private int SpiSize => Protocol == ProtocolId.Ike ? 0 : 4;

    public override int BodyLength => 4 + SpiSize * Spis.Count;

    public override void WriteBody(Span<byte> destination)
    {
        destination[0] = (byte)Protocol;
        destination[1] = (byte)SpiSize;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)Spis.Count);
        for (int i = 0; i < Spis.Count; i++)
            BinaryPrimitives.WriteUInt32BigEndian(destination[(4 + 4 * i)..], Spis[i]);
    }

    public static bool TryRead(ReadOnlySpan<byte> body, out DeletePayload? payload)
    {
        payload = null;
        if (body.Length < 4)
            return false;
        var protocol = (ProtocolId)body[0];
        int spiSize = body[1];
        int count = BinaryPrimitives.ReadUInt16BigEndian(body[2..]);
        bool valid = protocol switch
        {
            ProtocolId.Ike => spiSize == 0 && count == 0 && body.Length == 4,
            ProtocolId.Esp or ProtocolId.Ah => spiSize == 4 && body.Length == 4 + 4 * count,
            _ => false,
        };
        if (!valid)
            return false;
        var spis = new uint[count];
        for (int i = 0; i < count; i++)
            spis[i] = BinaryPrimitives.ReadUInt32BigEndian(body[(4 + 4 * i)..]);
        payload = new DeletePayload(protocol, spis);
        return true;
    }
}
