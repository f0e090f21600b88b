using Rekindle.Control.Crypto;
using Rekindle.Control.Encoding.Payloads;
using Rekindle.Control.Kernel;

namespace Rekindle.Control.Sa;

/// <summary>An installed CHILD SA pair (ESP, tunnel mode) and the policies that steer traffic into it.</summary>
public sealed class ChildSa
{
    public required string Name { get; init; }
    public required uint ReqId { get; init; }
    public required uint InboundSpi { get; init; }
    public required uint OutboundSpi { get; init; }
    public required ChildCryptoSuite Suite { get; init; }
    public required IReadOnlyList<TrafficSelector> LocalTs { get; init; }
    public required IReadOnlyList<TrafficSelector> RemoteTs { get; init; }
    public required bool UdpEncapsulation { get; init; }
    public required DateTimeOffset Installed { get; init; }
    public required SaId InboundId { get; init; }
    public required SaId OutboundId { get; init; }
    public List<PolicyParameters> Policies { get; } = [];
    /// <summary>The ESP keys of both directions; exported only for packet-capture debugging (rekindlectl keys).</summary>
    public required ChildSaKeys Keys { get; init; }
}

public sealed record ChildSaKeys(byte[] InboundEncryption, byte[] InboundIntegrity, byte[] OutboundEncryption, byte[] OutboundIntegrity)
{
    public override string ToString() => "ChildSaKeys { ... }";
}
