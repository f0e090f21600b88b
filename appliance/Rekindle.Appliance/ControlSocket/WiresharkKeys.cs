using Rekindle.Control.Encoding;

namespace Rekindle.Appliance.ControlSocket;

/// <summary>
/// Wireshark's key tables: <c>ikev2_decryption_table</c> (one line per IKE SA) and <c>esp_sa</c> (one line per ESP SA
/// direction), in the formats Wireshark reads from its profile folder and strongSwan's save-keys writes.
/// </summary>
public static class WiresharkKeys
{
    public static string IkeLine(IkeKeysView k)
    {
        bool aead = (EncryptionId)k.Encryption == EncryptionId.AesGcm16;
        string encryption = aead ? $"AES-GCM-{k.KeySize} with 16 octet ICV [RFC5282]" : $"AES-CBC-{k.KeySize} [RFC3602]";
        string integrity = aead ? "NONE [RFC4306]" : (IntegrityId)k.Integrity switch
        {
            IntegrityId.HmacSha256_128 => "HMAC_SHA2_256_128 [RFC4868]",
            IntegrityId.HmacSha384_192 => "HMAC_SHA2_384_192 [RFC4868]",
            IntegrityId.HmacSha512_256 => "HMAC_SHA2_512_256 [RFC4868]",
            IntegrityId.HmacSha1_96 => "HMAC_SHA1_96 [RFC2404]",
            var other => throw new NotSupportedException($"no Wireshark name for {other}"),
        };
        return $"{k.InitiatorSpi},{k.ResponderSpi},{k.SkEi},{k.SkEr},\"{encryption}\",{(aead ? "" : k.SkAi)},{(aead ? "" : k.SkAr)},\"{integrity}\"";
    }

    public static string EspLine(EspKeysView k)
    {
        bool aead = (EncryptionId)k.Encryption == EncryptionId.AesGcm16;
        string family = k.Source.Contains(':') ? "IPv6" : "IPv4";
        string encryption = aead ? "AES-GCM [RFC4106]" : "AES-CBC [RFC3602]";
        string authentication = aead ? "NULL" : (IntegrityId)k.Integrity switch
        {
            IntegrityId.HmacSha256_128 => "HMAC-SHA-256-128 [RFC4868]",
            IntegrityId.HmacSha384_192 => "HMAC-SHA-384-192 [RFC4868]",
            IntegrityId.HmacSha512_256 => "HMAC-SHA-512-256 [RFC4868]",
            IntegrityId.HmacSha1_96 => "HMAC-SHA-1-96 [RFC2404]",
            var other => throw new NotSupportedException($"no Wireshark name for {other}"),
        };
        return $"\"{family}\",\"{k.Source}\",\"{k.Destination}\",\"0x{k.Spi}\",\"{encryption}\",\"0x{k.EncryptionKey}\",\"{authentication}\",\"{(aead ? "" : "0x" + k.IntegrityKey)}\"";
    }

    /// <summary>Writes both tables into <paramref name="directory"/> (a Wireshark profile folder or WIRESHARK_CONFIG_DIR).</summary>
    public static (string Ike, string Esp) Write(string directory, IEnumerable<IkeKeysView> ike, IEnumerable<EspKeysView> esp)
    {
        Directory.CreateDirectory(directory);
        var ikePath = Path.Combine(directory, "ikev2_decryption_table");
        var espPath = Path.Combine(directory, "esp_sa");
        File.WriteAllLines(ikePath, ike.Select(IkeLine));
        File.WriteAllLines(espPath, esp.Select(EspLine));
        File.SetUnixFileMode(ikePath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetUnixFileMode(espPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return (ikePath, espPath);
    }
}
