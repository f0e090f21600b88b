namespace Rekindle.Control.Engine;

/// <summary>Engine-wide settings; the defaults follow strongSwan's where one exists.</summary>
public sealed record EngineOptions
{
    public int IkePort { get; init; } = 500;
    public int NatTPort { get; init; } = 4500;
    /// <summary>First retransmission after this long, then multiplied by <see cref="RetransmitBase"/> each time.</summary>
    public TimeSpan RetransmitTimeout { get; init; } = TimeSpan.FromSeconds(4);
    public double RetransmitBase { get; init; } = 1.8;
    /// <summary>Retransmissions before the peer is declared dead.</summary>
    public int RetransmitTries { get; init; } = 5;
    /// <summary>Half-open IKE SAs beyond which IKE_SA_INIT requests must return a COOKIE (RFC 7296 §2.6). Zero: always.</summary>
    public int CookieThreshold { get; init; } = 1000;
    /// <summary>A responder IKE SA not authenticated after this long is dropped.</summary>
    public TimeSpan HalfOpenTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>NAT-T keepalives (RFC 3948 §2.3) from behind a NAT after this much outbound silence; zero disables.</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(20);
}
