using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Kernel;

/// <summary>
/// Routes a CHILD SA's remote subnets: into the TUN device (userspace data plane) or toward the peer (kernel XFRM,
/// where a route must exist before a policy can apply), with a source address from the local subnet when the host has
/// one, as strongSwan's routing does. Through iproute2; failures name the command and what it answered.
/// </summary>
public sealed class RouteTable(string? device = null)
{
    /// <summary>Routes <paramref name="remote"/> into the device, or, with no device, the way the peer is reached.</summary>
    public void Add(TrafficSelector remote, IEnumerable<TrafficSelector> local, IPAddress? peer = null)
    {
        var args = new List<string> { "route", "replace", Prefix(remote) };
        if (device != null)
            args.AddRange(["dev", device]);
        else
            args.AddRange(NextHop(peer ?? throw new ArgumentNullException(nameof(peer))));
        var source = LocalAddressWithin(local.Where(l => l.TsType == remote.TsType));
        if (source != null)
            args.AddRange(["src", source.ToString()]);
        Run(args);
    }

    public void Remove(TrafficSelector remote) =>
        Run(device == null ? ["route", "del", Prefix(remote)] : ["route", "del", Prefix(remote), "dev", device], ignoreFailure: true);

    /// <summary>Brings the device up with a long queue: a burst must wait for the reader rather than be dropped.</summary>
    public void SetUp(int mtu) => Run(["link", "set", device!, "up", "mtu", mtu.ToString(), "txqueuelen", "10000"]);

    /// <summary>The gateway and device of the route to the peer (`ip route get`).</summary>
    private static List<string> NextHop(IPAddress peer)
    {
        var output = Run(["-j", "route", "get", peer.ToString()]);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var route = json.RootElement[0];
        var hop = new List<string>();
        if (route.TryGetProperty("gateway", out var gateway))
            hop.AddRange(["via", gateway.GetString()!]);
        hop.AddRange(["dev", route.GetProperty("dev").GetString()!]);
        return hop;
    }

    private static string Prefix(TrafficSelector ts)
    {
        var text = ts.ToString();
        return text.Contains("..") ? throw new SaBackendException($"cannot route the address range {text}: not a prefix") : text.Split('[')[0];
    }

    private static IPAddress? LocalAddressWithin(IEnumerable<TrafficSelector> local)
    {
        var addresses = NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address).ToList();
        foreach (var ts in local)
        {
            foreach (var address in addresses)
            {
                var host = new TrafficSelector(ts.TsType, 0, 0, 65535, address, address);
                if (address.AddressFamily == ts.Start.AddressFamily && ts.Intersect(host) != null)
                    return address;
            }
        }
        return null;
    }

    private static string Run(IEnumerable<string> args, bool ignoreFailure = false)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new SaBackendException("cannot run ip (iproute2)");
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 && !ignoreFailure)
            throw new SaBackendException($"ip {string.Join(' ', start.ArgumentList)} failed: {error.Trim()}");
        return output;
    }
}
