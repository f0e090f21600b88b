using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Encoding;

/// <summary>A decoded (or to-be-encoded) IKE message: header fields and the payloads, SK contents already opened.</summary>
public sealed class IkeMessage
{
    public ulong InitiatorSpi { get; set; }
    public ulong ResponderSpi { get; set; }
    public ExchangeType Exchange { get; init; }
    public bool IsResponse { get; init; }
    /// <summary>Set when the original initiator of the IKE SA sent this message.</summary>
    public bool FromInitiator { get; init; }
    public uint MessageId { get; init; }
    public List<Payload> Payloads { get; init; } = [];

    /// <summary>The payloads were inside an SK payload.</summary>
    public bool Protected { get; init; }

    public T? Get<T>() where T : Payload => Payloads.OfType<T>().FirstOrDefault();

    public IEnumerable<T> GetAll<T>() where T : Payload => Payloads.OfType<T>();

    public NotifyPayload? GetNotify(NotifyType type) => Payloads.OfType<NotifyPayload>().FirstOrDefault(n => n.NotifyType == type);

    public IEnumerable<NotifyPayload> Notifies => Payloads.OfType<NotifyPayload>();

    /// <summary>The first error notify, if the message reports one.</summary>
    public NotifyPayload? Error => Notifies.FirstOrDefault(n => n.NotifyType.IsError());

    public IkeFlags Flags => (IsResponse ? IkeFlags.Response : 0) | (FromInitiator ? IkeFlags.Initiator : 0);

    public void Add(Payload payload) => Payloads.Add(payload);

    public override string ToString() =>
        $"{Exchange} {(IsResponse ? "response" : "request")} {MessageId} [ {string.Join(" ", Payloads.Select(Describe))} ]";

    private static string Describe(Payload p) => p switch
    {
        NotifyPayload n => $"N({n.NotifyType})",
        _ => p.Type switch
        {
            PayloadType.SecurityAssociation => "SA",
            PayloadType.KeyExchange => "KE",
            PayloadType.IdInitiator => "IDi",
            PayloadType.IdResponder => "IDr",
            PayloadType.Certificate => "CERT",
            PayloadType.CertificateRequest => "CERTREQ",
            PayloadType.Authentication => "AUTH",
            PayloadType.Nonce => "No",
            PayloadType.Delete => "D",
            PayloadType.VendorId => "V",
            PayloadType.TrafficSelectorInitiator => "TSi",
            PayloadType.TrafficSelectorResponder => "TSr",
            PayloadType.Configuration => "CP",
            PayloadType.Eap => "EAP",
            _ => p.Type.ToString(),
        },
    };
}
