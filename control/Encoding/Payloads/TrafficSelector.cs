using System.Buffers.Binary;
using System.Net;
using System.Numerics;

namespace Rekindle.Control.Encoding.Payloads;

/// <summary>
/// One traffic selector (RFC 7296 §3.13.1): an address range, an IP protocol (0 = any) and a port range.
/// <code>
/// |   TS Type     |IP Protocol ID*|       Selector Length         |
/// |           Start Port*         |           End Port*           |
/// ~                         Starting Address*                     ~
/// ~                         Ending Address*                       ~
/// </code>
/// </summary>
public sealed record TrafficSelector(TsType TsType, byte IpProtocol, ushort StartPort, ushort EndPort, IPAddress Start, IPAddress End)
{
    private int AddressLength => TsType == TsType.Ipv4AddrRange ? 4 : 16;
    public int Length => 8 + 2 * AddressLength;

    /// <summary>A selector for "10.1.0.0/24" style prefixes, any protocol and port.</summary>
    public static TrafficSelector FromCidr(string cidr)
    {
        var network = IPNetwork.Parse(cidr);
        var start = network.BaseAddress;
        int bits = start.GetAddressBytes().Length * 8;
        var value = ToInteger(start);
        var hostMask = (BigInteger.One << (bits - network.PrefixLength)) - 1;
        var end = FromInteger(value | hostMask, bits / 8);
        return new TrafficSelector(bits == 32 ? TsType.Ipv4AddrRange : TsType.Ipv6AddrRange, 0, 0, 65535, start, end);
    }

    /// <summary>The overlap of two selectors (RFC 7296 §2.9 narrowing), or null if they do not meet.</summary>
    public TrafficSelector? Intersect(TrafficSelector other)
    {
        if (other.TsType != TsType)
            return null;
        if (IpProtocol != 0 && other.IpProtocol != 0 && IpProtocol != other.IpProtocol)
            return null;
        var start = BigInteger.Max(ToInteger(Start), ToInteger(other.Start));
        var end = BigInteger.Min(ToInteger(End), ToInteger(other.End));
        ushort startPort = Math.Max(StartPort, other.StartPort);
        ushort endPort = Math.Min(EndPort, other.EndPort);
        if (start > end || startPort > endPort)
            return null;
        return new TrafficSelector(TsType, IpProtocol != 0 ? IpProtocol : other.IpProtocol, startPort, endPort,
            FromInteger(start, AddressLength), FromInteger(end, AddressLength));
    }

    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)TsType;
        destination[1] = IpProtocol;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)Length);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], StartPort);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], EndPort);
        Start.TryWriteBytes(destination[8..], out _);
        End.TryWriteBytes(destination[(8 + AddressLength)..], out _);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out TrafficSelector? selector, out int length)
    {
        selector = null;
        length = 0;
        if (source.Length < 8)
            return false;
        var type = (TsType)source[0];
        int addressLength = type switch { TsType.Ipv4AddrRange => 4, TsType.Ipv6AddrRange => 16, _ => -1 };
        length = BinaryPrimitives.ReadUInt16BigEndian(source[2..]);
        if (addressLength < 0 || length != 8 + 2 * addressLength || length > source.Length)
            return false;
        selector = new TrafficSelector(type, source[1],
            BinaryPrimitives.ReadUInt16BigEndian(source[4..]), BinaryPrimitives.ReadUInt16BigEndian(source[6..]),
            new IPAddress(source.Slice(8, addressLength)), new IPAddress(source.Slice(8 + addressLength, addressLength)));
        return true;
    }

    private static BigInteger ToInteger(IPAddress address) => new(address.GetAddressBytes(), isUnsigned: true, isBigEndian: true);

    private static IPAddress FromInteger(BigInteger value, int length)
    {
        var bytes = new byte[length];
        value.TryWriteBytes(bytes.AsSpan(length - value.GetByteCount(isUnsigned: true)), out _, isUnsigned: true, isBigEndian: true);
        return new IPAddress(bytes);
    }

    public override string ToString()
    {
        string range = Start.Equals(End) ? $"{Start}/{AddressLength * 8}" : PrefixOrRange();
        string proto = IpProtocol == 0 ? "" : $"[{IpProtocol}]";
        string ports = StartPort == 0 && EndPort == 65535 ? "" : StartPort == EndPort ? $"[{StartPort}]" : $"[{StartPort}-{EndPort}]";
        return range + proto + ports;
    }

    private string PrefixOrRange()
    {
        var start = ToInteger(Start);
        var size = ToInteger(End) - start + 1;
        if (size.IsPowerOfTwo && (start % size).IsZero)
            return $"{Start}/{AddressLength * 8 - (int)BigInteger.Log(size, 2)}";
        return $"{Start}..{End}";
    }
}

/// <summary>Traffic Selector payload (TSi or TSr): | Number of TSs | RESERVED (3) | selectors ~ |</summary>
public sealed class TsPayload(bool initiator, IReadOnlyList<TrafficSelector> selectors) : Payload
{
    public override PayloadType Type => Initiator ? PayloadType.TrafficSelectorInitiator : PayloadType.TrafficSelectorResponder;
    public bool Initiator { get; } = initiator;
    public IReadOnlyList<TrafficSelector> Selectors { get; } = selectors;

    public override int BodyLength => 4 + Selectors.Sum(s => s.Length);

    public override void WriteBody(Span<byte> destination)
    {
        destination[..4].Clear();
        destination[0] = (byte)Selectors.Count;
        int offset = 4;
        foreach (var selector in Selectors)
        {
            selector.Write(destination[offset..]);
            offset += selector.Length;
        }
    }

    public static bool TryRead(bool initiator, ReadOnlySpan<byte> body, out TsPayload? payload)
    {
        payload = null;
        if (body.Length < 4 || body[0] == 0)
            return false;
        int count = body[0];
        var selectors = new List<TrafficSelector>(count);
        var rest = body[4..];
        for (int i = 0; i < count; i++)
        {
            if (!TrafficSelector.TryRead(rest, out var selector, out int length))
                return false;
            selectors.Add(selector!);
            rest = rest[length..];
        }
        if (!rest.IsEmpty)
            return false;
        payload = new TsPayload(initiator, selectors);
        return true;
    }
}
