using System.Buffers.Binary;

namespace Rekindle.Control.Encoding.Payloads;

/// <summary>
/// Security Association payload (RFC 7296 §3.3): a list of proposals.
/// <code>
/// Proposal substructure:
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Last Substruc |   RESERVED    |         Proposal Length       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                        SPI (variable)                         ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ~                        &lt;Transforms&gt;                           ~
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// Transform substructure:
/// | Last Substruc |   RESERVED    |        Transform Length       |
/// |Transform Type |   RESERVED    |          Transform ID         |
/// ~                      Transform Attributes                     ~
/// Attribute (TV form only for Key Length, type 14):
/// |A|       Attribute Type        |    AF=1: Attribute Value      |
/// </code>
/// </summary>
public sealed class SaPayload(IReadOnlyList<Proposal> proposals) : Payload
{
    public override PayloadType Type => PayloadType.SecurityAssociation;
    public IReadOnlyList<Proposal> Proposals { get; } = proposals;

    public override int BodyLength => Proposals.Sum(p => p.Length);

    public override void WriteBody(Span<byte> destination)
    {
        int offset = 0;
        for (int i = 0; i < Proposals.Count; i++)
        {
            Proposals[i].Write(destination[offset..], last: i == Proposals.Count - 1);
            offset += Proposals[i].Length;
        }
    }

    public static DecodeError TryRead(ReadOnlySpan<byte> body, out SaPayload? payload)
    {
        payload = null;
        var proposals = new List<Proposal>();
        while (!body.IsEmpty)
        {
            if (body.Length < 8)
                return DecodeError.InvalidSyntax;
            byte last = body[0];
            int length = BinaryPrimitives.ReadUInt16BigEndian(body[2..]);
            if (length < 8 || length > body.Length || (last != 0 && last != 2))
                return DecodeError.InvalidSyntax;
            var error = Proposal.TryRead(body[..length], out var proposal);
            if (error != DecodeError.None)
                return error;
            proposals.Add(proposal!);
            body = body[length..];
            if (last == 0 && !body.IsEmpty)
                return DecodeError.InvalidSyntax;
            if (last == 2 && body.IsEmpty)
                return DecodeError.InvalidSyntax;
        }
        if (proposals.Count == 0)
            return DecodeError.InvalidSyntax;
        payload = new SaPayload(proposals);
        return DecodeError.None;
    }
}

public sealed record Proposal(byte Number, ProtocolId Protocol, byte[] Spi, IReadOnlyList<Transform> Transforms)
{
    public int Length => 8 + Spi.Length + Transforms.Sum(t => t.Length);

    public Transform? Find(TransformType type)
    {
        foreach (var transform in Transforms)
            if (transform.Type == type)
                return transform;
        return null;
    }

    public IEnumerable<Transform> All(TransformType type) => Transforms.Where(t => t.Type == type);

    public void Write(Span<byte> destination, bool last)
    {
        destination[0] = last ? (byte)0 : (byte)2;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)Length);
        destination[4] = Number;
        destination[5] = (byte)Protocol;
        destination[6] = (byte)Spi.Length;
        destination[7] = (byte)Transforms.Count;
        Spi.CopyTo(destination[8..]);
        int offset = 8 + Spi.Length;
        for (int i = 0; i < Transforms.Count; i++)
        {
            Transforms[i].Write(destination[offset..], last: i == Transforms.Count - 1);
            offset += Transforms[i].Length;
        }
    }

    public static DecodeError TryRead(ReadOnlySpan<byte> source, out Proposal? proposal)
    {
        proposal = null;
        byte number = source[4];
        var protocol = (ProtocolId)source[5];
        int spiSize = source[6];
        int count = source[7];
        if (8 + spiSize > source.Length)
            return DecodeError.InvalidSyntax;
        byte[] spi = source.Slice(8, spiSize).ToArray();
        var rest = source[(8 + spiSize)..];
        var transforms = new List<Transform>(count);
        while (!rest.IsEmpty)
        {
            if (rest.Length < 8)
                return DecodeError.InvalidSyntax;
            byte last = rest[0];
            int length = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
            if (length < 8 || length > rest.Length || (last != 0 && last != 3))
                return DecodeError.InvalidSyntax;
            if (!Transform.TryRead(rest[..length], out var transform))
                return DecodeError.InvalidSyntax;
            transforms.Add(transform);
            rest = rest[length..];
            if ((last == 0) != rest.IsEmpty)
                return DecodeError.InvalidSyntax;
        }
        if (transforms.Count != count)
            return DecodeError.InvalidSyntax;
        proposal = new Proposal(number, protocol, spi, transforms);
        return DecodeError.None;
    }
}

/// <summary>One transform; <see cref="KeyLength"/> is the Key Length attribute (type 14), 0 when absent.</summary>
public readonly record struct Transform(TransformType Type, ushort Id, ushort KeyLength = 0, bool HasUnknownAttribute = false)
{
    private const ushort KeyLengthAttribute = 14;
    private const ushort TvFlag = 0x8000;

    public int Length => KeyLength != 0 ? 12 : 8;

    public void Write(Span<byte> destination, bool last)
    {
        destination[0] = last ? (byte)0 : (byte)3;
        destination[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)Length);
        destination[4] = (byte)Type;
        destination[5] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], Id);
        if (KeyLength != 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination[8..], TvFlag | KeyLengthAttribute);
            BinaryPrimitives.WriteUInt16BigEndian(destination[10..], KeyLength);
        }
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out Transform transform)
    {
        var type = (TransformType)source[4];
        ushort id = BinaryPrimitives.ReadUInt16BigEndian(source[6..]);
        ushort keyLength = 0;
        bool unknown = false;
        var attributes = source[8..];
        while (!attributes.IsEmpty)
        {
            if (attributes.Length < 4)
            {
                transform = default;
                return false;
            }
            ushort attributeType = BinaryPrimitives.ReadUInt16BigEndian(attributes);
            ushort value = BinaryPrimitives.ReadUInt16BigEndian(attributes[2..]);
            if ((attributeType & TvFlag) != 0)
            {
                if ((attributeType & ~TvFlag) == KeyLengthAttribute)
                    keyLength = value;
                else
                    unknown = true;
                attributes = attributes[4..];
            }
            else
            {
                // TLV form: value is the length; RFC 7296 defines no TLV attributes, so it is unknown.
                if (4 + value > attributes.Length)
                {
                    transform = default;
                    return false;
                }
                unknown = true;
                attributes = attributes[(4 + value)..];
            }
        }
        transform = new Transform(type, id, keyLength, unknown);
        return true;
    }

    public override string ToString() => KeyLength != 0 ? $"{Type}:{Id}/{KeyLength}" : $"{Type}:{Id}";
}
