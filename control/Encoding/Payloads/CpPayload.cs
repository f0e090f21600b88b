using System.Buffers.Binary;

namespace Rekindle.Control.Encoding.Payloads;

/// <summary>
/// Configuration payload (RFC 7296 §3.15).
/// <code>
/// |   CFG Type    |                    RESERVED                   |
/// ~                   Configuration Attributes                    ~
/// Attribute: |R|         Attribute Type      |            Length             |  Value ~
/// </code>
/// </summary>
public sealed class CpPayload(CfgType cfgType, IReadOnlyList<CpAttribute> attributes) : Payload
{
    public override PayloadType Type => PayloadType.Configuration;
    public CfgType CfgType { get; } = cfgType;
    public IReadOnlyList<CpAttribute> Attributes { get; } = attributes;

    public override int BodyLength => 4 + Attributes.Sum(a => 4 + a.Value.Length);

    public override void WriteBody(Span<byte> destination)
    {
        destination[..4].Clear();
        destination[0] = (byte)CfgType;
        int offset = 4;
        foreach (var attribute in Attributes)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[offset..], (ushort)(attribute.Type & 0x7FFF));
            BinaryPrimitives.WriteUInt16BigEndian(destination[(offset + 2)..], (ushort)attribute.Value.Length);
            attribute.Value.CopyTo(destination[(offset + 4)..]);
            offset += 4 + attribute.Value.Length;
        }
    }

    public static bool TryRead(ReadOnlySpan<byte> body, out CpPayload? payload)
    {
        payload = null;
        if (body.Length < 4)
            return false;
        var attributes = new List<CpAttribute>();
        var rest = body[4..];
        while (!rest.IsEmpty)
        {
            if (rest.Length < 4)
                return false;
            int length = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
            if (4 + length > rest.Length)
                return false;
            attributes.Add(new CpAttribute((ushort)(BinaryPrimitives.ReadUInt16BigEndian(rest) & 0x7FFF), rest.Slice(4, length).ToArray()));
            rest = rest[(4 + length)..];
        }
        payload = new CpPayload((CfgType)body[0], attributes);
        return true;
    }
}

public enum CfgType : byte
{
    Request = 1,
    Reply = 2,
    Set = 3,
    Ack = 4,
}

public sealed record CpAttribute(ushort Type, byte[] Value);
