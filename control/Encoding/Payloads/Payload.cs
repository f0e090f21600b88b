namespace Rekindle.Control.Encoding.Payloads;

/// <summary>
/// A payload: the generic header (RFC 7296 §3.2) is written by <see cref="PayloadChain"/>,
/// each subclass holds and writes only its body.
/// <code>
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | Next Payload  |C|  RESERVED   |         Payload Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// </code>
/// </summary>
public abstract class Payload
{
    public const int HeaderSize = 4;

    public abstract PayloadType Type { get; }

    /// <summary>The critical bit; set by the reader, and for payloads we send when it matters.</summary>
    public bool Critical { get; init; }

    public abstract int BodyLength { get; }

    public abstract void WriteBody(Span<byte> destination);

    public int Length => HeaderSize + BodyLength;
}

/// <summary>Why a message could not be decoded, and what the RFC says to do about it.</summary>
public enum DecodeError
{
    None,
    /// <summary>Answer a request with INVALID_SYNTAX (RFC 7296 §2.21.2 / §3.10.1).</summary>
    InvalidSyntax,
    /// <summary>Answer with UNSUPPORTED_CRITICAL_PAYLOAD carrying the payload type (RFC 7296 §2.5).</summary>
    UnsupportedCriticalPayload,
    /// <summary>Drop silently (integrity failure, unknown SA, etc.).</summary>
    Drop,
}
