namespace Rekindle.Control.Encoding;

/// <summary>IKEv2 exchange types (RFC 7296 §3.1, IANA "IKEv2 Exchange Types").</summary>
public enum ExchangeType : byte
{
    IkeSaInit = 34,
    IkeAuth = 35,
    CreateChildSa = 36,
    Informational = 37,
    IkeSessionResume = 38,
}

/// <summary>IKEv2 payload types (RFC 7296 §3.2).</summary>
public enum PayloadType : byte
{
    None = 0,
    SecurityAssociation = 33,
    KeyExchange = 34,
    IdInitiator = 35,
    IdResponder = 36,
    Certificate = 37,
    CertificateRequest = 38,
    Authentication = 39,
    Nonce = 40,
    Notify = 41,
    Delete = 42,
    VendorId = 43,
    TrafficSelectorInitiator = 44,
    TrafficSelectorResponder = 45,
    Encrypted = 46,
    Configuration = 47,
    Eap = 48,
    EncryptedFragment = 53,
}

/// <summary>Protocol identifiers used in proposals, notifies and deletes (RFC 7296 §3.3.1).</summary>
public enum ProtocolId : byte
{
    None = 0,
    Ike = 1,
    Ah = 2,
    Esp = 3,
}

/// <summary>Transform types (RFC 7296 §3.3.2).</summary>
public enum TransformType : byte
{
    Encryption = 1,
    Prf = 2,
    Integrity = 3,
    KeyExchange = 4,
    ExtendedSequenceNumbers = 5,
}

/// <summary>Transform IDs for <see cref="TransformType.Encryption"/>.</summary>
public enum EncryptionId : ushort
{
    AesCbc = 12,
    AesGcm8 = 18,
    AesGcm12 = 19,
    AesGcm16 = 20,
}

/// <summary>Transform IDs for <see cref="TransformType.Prf"/>.</summary>
public enum PrfId : ushort
{
    HmacSha1 = 2,
    HmacSha256 = 5,
    HmacSha384 = 6,
    HmacSha512 = 7,
}

/// <summary>Transform IDs for <see cref="TransformType.Integrity"/>.</summary>
public enum IntegrityId : ushort
{
    None = 0,
    HmacSha1_96 = 2,
    HmacSha256_128 = 12,
    HmacSha384_192 = 13,
    HmacSha512_256 = 14,
}

/// <summary>Key exchange (Diffie-Hellman) group numbers.</summary>
public enum DhGroup : ushort
{
    None = 0,
    Modp2048 = 14,
    Modp3072 = 15,
    Ecp256 = 19,
    Ecp384 = 20,
    Ecp521 = 21,
    Curve25519 = 31,
}

/// <summary>Extended sequence number transform IDs.</summary>
public enum EsnId : ushort
{
    NoEsn = 0,
    Esn = 1,
}

/// <summary>Identification types (RFC 7296 §3.5).</summary>
public enum IdType : byte
{
    Ipv4Address = 1,
    Fqdn = 2,
    Rfc822Address = 3,
    Ipv6Address = 5,
    DerAsn1Dn = 9,
    DerAsn1Gn = 10,
    KeyId = 11,
}

/// <summary>Authentication methods (RFC 7296 §3.8).</summary>
public enum AuthMethod : byte
{
    RsaSignature = 1,
    SharedKeyMic = 2,
    DssSignature = 3,
    DigitalSignature = 14,
}

/// <summary>Traffic selector types (RFC 7296 §3.13.1).</summary>
public enum TsType : byte
{
    Ipv4AddrRange = 7,
    Ipv6AddrRange = 8,
}

/// <summary>Notify message types (RFC 7296 §3.10.1 and later RFCs). Below 16384 are errors.</summary>
public enum NotifyType : ushort
{
    UnsupportedCriticalPayload = 1,
    InvalidIkeSpi = 4,
    InvalidMajorVersion = 5,
    InvalidSyntax = 7,
    InvalidMessageId = 9,
    InvalidSpi = 11,
    NoProposalChosen = 14,
    InvalidKePayload = 17,
    AuthenticationFailed = 24,
    SinglePairRequired = 34,
    NoAdditionalSas = 35,
    InternalAddressFailure = 36,
    FailedCpRequired = 37,
    TsUnacceptable = 38,
    InvalidSelectors = 39,
    TemporaryFailure = 43,
    ChildSaNotFound = 44,

    InitialContact = 16384,
    SetWindowSize = 16385,
    AdditionalTsPossible = 16386,
    IpcompSupported = 16387,
    NatDetectionSourceIp = 16388,
    NatDetectionDestinationIp = 16389,
    Cookie = 16390,
    UseTransportMode = 16391,
    HttpCertLookupSupported = 16392,
    RekeySa = 16393,
    EspTfcPaddingNotSupported = 16394,
    NonFirstFragmentsAlso = 16395,
    MobikeSupported = 16396,
    TicketLtOpaque = 16409,
    TicketRequest = 16410,
    TicketAck = 16411,
    TicketNack = 16412,
    TicketOpaque = 16413,
    FragmentationSupported = 16430,
    SignatureHashAlgorithms = 16431,
}

public static class NotifyTypeExtensions
{
    /// <summary>RFC 7296 §3.10.1: types below 16384 report errors.</summary>
    public static bool IsError(this NotifyType type) => (ushort)type < 16384;
}
