using System.Text.Json;
using System.Text.Json.Serialization;

namespace Rekindle.Appliance.ControlSocket;

/// <summary>One request on the control socket: a JSON line.</summary>
public sealed record ControlRequest(string Command, string? Name = null, string? Child = null, double TimeoutSeconds = 30, string? Path = null);

/// <summary>The answer: a JSON line. <see cref="Error"/> set means the command failed.</summary>
public sealed record ControlResponse(bool Ok, string? Error = null, string? Message = null,
    IReadOnlyList<IkeSaView>? Sas = null, IReadOnlyList<ConnectionView>? Connections = null,
    IReadOnlyList<SaStatsView>? Stats = null, IReadOnlyDictionary<string, long>? DataplaneCounters = null,
    IReadOnlyList<IkeKeysView>? IkeKeys = null, IReadOnlyList<EspKeysView>? EspKeys = null);

/// <summary>An IKE SA's SK keys (hex), for Wireshark's ikev2_decryption_table.</summary>
public sealed record IkeKeysView(string InitiatorSpi, string ResponderSpi, int Encryption, int KeySize, int Integrity,
    string SkEi, string SkEr, string SkAi, string SkAr);

/// <summary>One ESP SA direction (hex keys), for Wireshark's esp_sa table.</summary>
public sealed record EspKeysView(string Source, string Destination, string Spi, int Encryption, int KeySize, int Integrity,
    string EncryptionKey, string IntegrityKey);

/// <summary>Traffic of one CHILD SA direction, as the SA back-end counts it.</summary>
public sealed record SaStatsView(string Name, string Child, uint ReqId, string Direction, string Spi, ulong Packets, ulong Bytes,
    ulong ReplayDrops, ulong IntegrityFailures, double? LastPacketSecondsAgo);

public sealed record IkeSaView(
    string Name, int UniqueId, string State, bool Initiator, string InitiatorSpi, string ResponderSpi,
    string LocalHost, int LocalPort, string LocalId, string RemoteHost, int RemotePort, string RemoteId,
    string? EncryptionAlgorithm, int EncryptionKeySize, string? IntegrityAlgorithm, string? PrfAlgorithm, string? DhGroup,
    bool LocalBehindNat, bool RemoteBehindNat, long AgeSeconds, long? EstablishedSeconds, IReadOnlyList<ChildSaView> Children);

public sealed record ChildSaView(
    string Name, uint ReqId, string State, string Mode, bool UdpEncapsulation, string Protocol,
    string EncryptionAlgorithm, int EncryptionKeySize, string? IntegrityAlgorithm, bool Esn,
    string SpiIn, string SpiOut, IReadOnlyList<string> LocalTs, IReadOnlyList<string> RemoteTs, long InstallSeconds);

public sealed record ConnectionView(string Name, string? LocalAddress, string? RemoteAddress, string LocalId, string RemoteId,
    string IkeProposals, string EspProposals, string ChildName, IReadOnlyList<string> LocalTs, IReadOnlyList<string> RemoteTs, string StartAction);

public static class ControlJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
