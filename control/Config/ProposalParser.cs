using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Config;

/// <summary>
/// Reads proposals written the way strongSwan's swanctl.conf does: algorithms joined by '-', proposals by ','.
/// IKE: <c>aes256gcm16-prfsha256-x25519</c>, <c>aes128-sha256-modp2048</c> (the PRF follows the integrity
/// algorithm when no <c>prf*</c> is given). ESP: <c>aes256gcm16</c>, <c>aes128-sha256-esn</c>.
/// </summary>
public static class ProposalParser
{
    private static readonly Dictionary<string, Transform> Encryption = new()
    {
        ["aes128"] = new(TransformType.Encryption, (ushort)EncryptionId.AesCbc, 128),
        ["aes192"] = new(TransformType.Encryption, (ushort)EncryptionId.AesCbc, 192),
        ["aes256"] = new(TransformType.Encryption, (ushort)EncryptionId.AesCbc, 256),
        ["aes128gcm16"] = new(TransformType.Encryption, (ushort)EncryptionId.AesGcm16, 128),
        ["aes192gcm16"] = new(TransformType.Encryption, (ushort)EncryptionId.AesGcm16, 192),
        ["aes256gcm16"] = new(TransformType.Encryption, (ushort)EncryptionId.AesGcm16, 256),
        ["aes128gcm128"] = new(TransformType.Encryption, (ushort)EncryptionId.AesGcm16, 128),
        ["aes256gcm128"] = new(TransformType.Encryption, (ushort)EncryptionId.AesGcm16, 256),
    };

    private static readonly Dictionary<string, (IntegrityId Integrity, PrfId Prf)> Integrity = new()
    {
        ["sha1"] = (IntegrityId.HmacSha1_96, PrfId.HmacSha1),
        ["sha256"] = (IntegrityId.HmacSha256_128, PrfId.HmacSha256),
        ["sha384"] = (IntegrityId.HmacSha384_192, PrfId.HmacSha384),
        ["sha512"] = (IntegrityId.HmacSha512_256, PrfId.HmacSha512),
    };

    private static readonly Dictionary<string, PrfId> Prfs = new()
    {
        ["prfsha1"] = PrfId.HmacSha1,
        ["prfsha256"] = PrfId.HmacSha256,
        ["prfsha384"] = PrfId.HmacSha384,
        ["prfsha512"] = PrfId.HmacSha512,
    };

    private static readonly Dictionary<string, DhGroup> Groups = new()
    {
        ["modp2048"] = DhGroup.Modp2048,
        ["modp3072"] = DhGroup.Modp3072,
        ["ecp256"] = DhGroup.Ecp256,
        ["ecp384"] = DhGroup.Ecp384,
        ["ecp521"] = DhGroup.Ecp521,
        ["x25519"] = DhGroup.Curve25519,
        ["curve25519"] = DhGroup.Curve25519,
    };

    public static IReadOnlyList<Proposal> ParseIke(string text) => Parse(text, ProtocolId.Ike);

    public static IReadOnlyList<Proposal> ParseEsp(string text) => Parse(text, ProtocolId.Esp);

    /// <summary>Parses a comma-separated list; throws <see cref="FormatException"/> naming the offending algorithm.</summary>
    public static IReadOnlyList<Proposal> Parse(string text, ProtocolId protocol)
    {
        var proposals = new List<Proposal>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            proposals.Add(ParseOne(item, protocol, (byte)(proposals.Count + 1)));
        if (proposals.Count == 0)
            throw new FormatException("empty proposal list");
        return proposals;
    }

    private static Proposal ParseOne(string text, ProtocolId protocol, byte number)
    {
        var encr = new List<Transform>();
        var integ = new List<Transform>();
        var prf = new List<Transform>();
        var dh = new List<Transform>();
        var esn = new List<Transform>();
        foreach (var token in text.ToLowerInvariant().Split('-'))
        {
            if (Encryption.TryGetValue(token, out var e))
                encr.Add(e);
            else if (Integrity.TryGetValue(token, out var i))
            {
                integ.Add(new Transform(TransformType.Integrity, (ushort)i.Integrity));
                if (protocol == ProtocolId.Ike)
                    prf.Add(new Transform(TransformType.Prf, (ushort)i.Prf));
            }
            else if (protocol == ProtocolId.Ike && Prfs.TryGetValue(token, out var p))
                prf.Add(new Transform(TransformType.Prf, (ushort)p));
            else if (Groups.TryGetValue(token, out var g))
                dh.Add(new Transform(TransformType.KeyExchange, (ushort)g));
            else if (protocol == ProtocolId.Esp && token is "esn" or "noesn")
                esn.Add(new Transform(TransformType.ExtendedSequenceNumbers, (ushort)(token == "esn" ? EsnId.Esn : EsnId.NoEsn)));
            else
                throw new FormatException($"unknown algorithm '{token}' in {protocol} proposal '{text}'");
        }
        if (encr.Count == 0)
            throw new FormatException($"{protocol} proposal '{text}' has no encryption algorithm");
        bool aead = encr.All(t => t.Id == (ushort)EncryptionId.AesGcm16);
        bool classic = encr.All(t => t.Id != (ushort)EncryptionId.AesGcm16);
        if (!aead && !classic)
            throw new FormatException($"{protocol} proposal '{text}' mixes AEAD and non-AEAD encryption");
        if (classic && integ.Count == 0)
            throw new FormatException($"{protocol} proposal '{text}' needs an integrity algorithm for {Name(encr[0])}");
        if (aead && integ.Count > 0)
        {
            // As in strongSwan: with AEAD, shaNNN only names the PRF.
            integ.Clear();
        }
        if (protocol == ProtocolId.Ike)
        {
            if (prf.Count == 0)
                throw new FormatException($"IKE proposal '{text}' needs a PRF (e.g. prfsha256) with AEAD encryption");
            if (dh.Count == 0)
                throw new FormatException($"IKE proposal '{text}' has no key exchange group (e.g. x25519, modp2048)");
        }
        else if (esn.Count == 0)
        {
            esn.Add(new Transform(TransformType.ExtendedSequenceNumbers, (ushort)EsnId.NoEsn));
        }
        var transforms = encr.Concat(prf.DistinctBy(t => t.Id)).Concat(integ).Concat(dh).Concat(esn).ToList();
        return new Proposal(number, protocol, [], transforms);
    }

    private static string Name(Transform t) => Encryption.First(kv => kv.Value == t).Key;

    /// <summary>Drops key exchange transforms: ESP proposals in IKE_AUTH carry none (RFC 7296 §1.2).</summary>
    public static Proposal WithoutKeyExchange(Proposal proposal) =>
        proposal with { Transforms = proposal.Transforms.Where(t => t.Type != TransformType.KeyExchange).ToList() };
}
