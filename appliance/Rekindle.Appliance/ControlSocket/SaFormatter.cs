using System.Text;

namespace Rekindle.Appliance.ControlSocket;

/// <summary>Formats <c>list-sas</c> and <c>list-conns</c> for people, in the layout of <c>swanctl --list-sas</c>.</summary>
public static class SaFormatter
{
    public static string FormatSas(IReadOnlyList<IkeSaView> sas)
    {
        var text = new StringBuilder();
        foreach (var sa in sas)
        {
            text.AppendLine($"{sa.Name}: #{sa.UniqueId}, {sa.State}, IKEv2, {sa.InitiatorSpi}_i{(sa.Initiator ? "*" : "")} {sa.ResponderSpi}_r{(sa.Initiator ? "" : "*")}");
            text.AppendLine($"  local  '{sa.LocalId}' @ {sa.LocalHost}[{sa.LocalPort}]{(sa.LocalBehindNat ? " [NAT]" : "")}");
            text.AppendLine($"  remote '{sa.RemoteId}' @ {sa.RemoteHost}[{sa.RemotePort}]{(sa.RemoteBehindNat ? " [NAT]" : "")}");
            if (sa.EncryptionAlgorithm != null)
                text.AppendLine($"  {sa.EncryptionAlgorithm}-{sa.EncryptionKeySize}/{(sa.IntegrityAlgorithm == null ? "" : sa.IntegrityAlgorithm + "/")}{sa.PrfAlgorithm}/{sa.DhGroup}");
            text.AppendLine(sa.EstablishedSeconds is { } est ? $"  established {est}s ago" : $"  created {sa.AgeSeconds}s ago");
            foreach (var child in sa.Children)
            {
                text.AppendLine($"  {child.Name}: #{child.ReqId}, reqid {child.ReqId}, {child.State}, {child.Mode}{(child.UdpEncapsulation ? "-in-UDP" : "")}, " +
                    $"{child.Protocol}:{child.EncryptionAlgorithm}-{child.EncryptionKeySize}{(child.IntegrityAlgorithm == null ? "" : "/" + child.IntegrityAlgorithm)}{(child.Esn ? "/ESN" : "")}");
                text.AppendLine($"    installed {child.InstallSeconds}s ago");
                text.AppendLine($"    in  {child.SpiIn}");
                text.AppendLine($"    out {child.SpiOut}");
                text.AppendLine($"    local  {string.Join(" ", child.LocalTs)}");
                text.AppendLine($"    remote {string.Join(" ", child.RemoteTs)}");
            }
        }
        return text.ToString();
    }

    public static string FormatStats(IReadOnlyList<SaStatsView> stats, IReadOnlyDictionary<string, long>? counters)
    {
        var text = new StringBuilder();
        foreach (var s in stats)
        {
            text.AppendLine($"{s.Name}/{s.Child}{{{s.ReqId}}} {s.Direction,-3} {s.Spi}  {s.Packets,10} packets {s.Bytes,14} bytes" +
                (s.Direction == "in" ? $"  replay-drops {s.ReplayDrops}  integrity-failures {s.IntegrityFailures}" : "") +
                $"  last {(s.LastPacketSecondsAgo is { } ago ? $"{ago:0.0}s ago" : "never")}");
        }
        if (counters != null)
            text.AppendLine("dataplane: " + string.Join("  ", counters.Select(c => $"{c.Key} {c.Value}")));
        return text.ToString();
    }

    public static string FormatConnections(IReadOnlyList<ConnectionView> connections)
    {
        var text = new StringBuilder();
        foreach (var c in connections)
        {
            text.AppendLine($"{c.Name}: IKEv2, {c.LocalAddress ?? "%any"}...{c.RemoteAddress ?? "%any"}, start_action {c.StartAction}");
            text.AppendLine($"  local:  '{c.LocalId}' psk");
            text.AppendLine($"  remote: '{c.RemoteId}' psk");
            text.AppendLine($"  ike:    {c.IkeProposals}");
            text.AppendLine($"  {c.ChildName}: TUNNEL, esp: {c.EspProposals}");
            text.AppendLine($"    local:  {string.Join(" ", c.LocalTs)}");
            text.AppendLine($"    remote: {string.Join(" ", c.RemoteTs)}");
        }
        return text.ToString();
    }
}
