using System.Net;
using System.Net.Sockets;
using Ascii = System.Text.Encoding;
using Rekindle.Control.Encoding;

namespace Rekindle.Control.Config;

/// <summary>
/// An IKE identity. Parsed the way strongSwan reads its strings: an IP literal is ID_IPV4_ADDR/ID_IPV6_ADDR,
/// <c>user@domain</c> is ID_RFC822_ADDR, <c>@#hex</c> is ID_KEY_ID, <c>@name</c> or <c>name.domain</c> is ID_FQDN.
/// </summary>
public sealed record Identity(IdType Type, byte[] Data)
{
    public static Identity Parse(string text)
    {
        if (IPAddress.TryParse(text, out var address))
            return new Identity(address.AddressFamily == AddressFamily.InterNetwork ? IdType.Ipv4Address : IdType.Ipv6Address, address.GetAddressBytes());
        if (text.StartsWith("@#", StringComparison.Ordinal))
            return new Identity(IdType.KeyId, Convert.FromHexString(text[2..]));
        if (text.StartsWith('@'))
            return new Identity(IdType.Fqdn, Ascii.ASCII.GetBytes(text[1..]));
        if (text.Contains('@'))
            return new Identity(IdType.Rfc822Address, Ascii.ASCII.GetBytes(text));
        return new Identity(IdType.Fqdn, Ascii.ASCII.GetBytes(text));
    }

    public bool Equals(Identity? other) => other is not null && Type == other.Type && Data.AsSpan().SequenceEqual(other.Data);

    public override int GetHashCode() => HashCode.Combine(Type, Data.Length);

    public override string ToString() => Type switch
    {
        IdType.Ipv4Address or IdType.Ipv6Address when Data.Length is 4 or 16 => new IPAddress(Data).ToString(),
        IdType.Fqdn or IdType.Rfc822Address => Ascii.ASCII.GetString(Data),
        IdType.KeyId => "@#" + Convert.ToHexStringLower(Data),
        _ => $"{Type}:{Convert.ToHexStringLower(Data)}",
    };
}
