namespace Rekindle.Control.Encoding;

/// <summary>
/// Which payloads each exchange may carry, how many of each, and whether they travel inside SK
/// (RFC 7296 §1.2-§1.5, RFC 5723 §4). Presence of required payloads is checked by the tasks that consume them,
/// because error responses legitimately carry a single notify.
/// </summary>
public static class PayloadRules
{
    private const int Many = int.MaxValue;

    private sealed record Rule(bool Protected, IReadOnlyDictionary<PayloadType, int> Request, IReadOnlyDictionary<PayloadType, int> Response);

    private static readonly Dictionary<PayloadType, int> SaInit = new()
    {
        [PayloadType.SecurityAssociation] = 1, [PayloadType.KeyExchange] = 1, [PayloadType.Nonce] = 1,
        [PayloadType.Notify] = Many, [PayloadType.VendorId] = Many, [PayloadType.CertificateRequest] = Many,
    };

    private static readonly Dictionary<PayloadType, int> Auth = new()
    {
        [PayloadType.IdInitiator] = 1, [PayloadType.IdResponder] = 1, [PayloadType.Certificate] = Many,
        [PayloadType.CertificateRequest] = Many, [PayloadType.Authentication] = 1, [PayloadType.SecurityAssociation] = 1,
        [PayloadType.TrafficSelectorInitiator] = 1, [PayloadType.TrafficSelectorResponder] = 1, [PayloadType.Configuration] = 1,
        [PayloadType.Eap] = 1, [PayloadType.Notify] = Many, [PayloadType.VendorId] = Many,
    };

    private static readonly Dictionary<PayloadType, int> CreateChild = new()
    {
        [PayloadType.SecurityAssociation] = 1, [PayloadType.Nonce] = 1, [PayloadType.KeyExchange] = 1,
        [PayloadType.TrafficSelectorInitiator] = 1, [PayloadType.TrafficSelectorResponder] = 1,
        [PayloadType.Configuration] = 1, [PayloadType.Notify] = Many, [PayloadType.VendorId] = Many,
    };

    private static readonly Dictionary<PayloadType, int> Informational = new()
    {
        [PayloadType.Notify] = Many, [PayloadType.Delete] = Many, [PayloadType.Configuration] = 1, [PayloadType.VendorId] = Many,
    };

    private static readonly Dictionary<PayloadType, int> Resume = new()
    {
        [PayloadType.Nonce] = 1, [PayloadType.Notify] = Many, [PayloadType.VendorId] = Many,
    };

    private static readonly Dictionary<ExchangeType, Rule> Rules = new()
    {
        [ExchangeType.IkeSaInit] = new Rule(false, SaInit, SaInit),
        [ExchangeType.IkeAuth] = new Rule(true, Auth, Auth),
        [ExchangeType.CreateChildSa] = new Rule(true, CreateChild, CreateChild),
        [ExchangeType.Informational] = new Rule(true, Informational, Informational),
        [ExchangeType.IkeSessionResume] = new Rule(false, Resume, Resume),
    };

    public static bool IsKnownExchange(ExchangeType exchange) => Rules.ContainsKey(exchange);

    /// <summary>Whether the exchange's payloads travel inside an SK payload.</summary>
    public static bool IsProtected(ExchangeType exchange) => Rules.TryGetValue(exchange, out var rule) && rule.Protected;

    /// <summary>Checks payload types and counts; a violation is answered with INVALID_SYNTAX.</summary>
    public static bool Check(IkeMessage message)
    {
        if (!Rules.TryGetValue(message.Exchange, out var rule))
            return false;
        var allowed = message.IsResponse ? rule.Response : rule.Request;
        foreach (var group in message.Payloads.GroupBy(p => p.Type))
        {
            if (group.Key is > PayloadType.Eap or < PayloadType.SecurityAssociation)
                continue; // unknown non-critical payloads are ignored (RFC 7296 §2.5)
            if (!allowed.TryGetValue(group.Key, out int max) || group.Count() > max)
                return false;
        }
        return true;
    }
}
