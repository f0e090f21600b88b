using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Dataplane;

/// <summary>
/// Routes the remote subnets into the TUN device, with a source address from the local subnet when the host has one
/// (as strongSwan's routing does), through iproute2. Failures name the command and what it answered.
/// </summary>
public sealed class RouteTable(string device)
{
    public void Add(TrafficSelector remote, IEnumerable<TrafficSelector> local)
    {
        var args = new List<string> { "route", "replace", Prefix(remote), "dev", device };
        var source = LocalAddressWithin(local);
        if (source != null)
            args.AddRange(["src", source.ToString()]);
        Run(args);
    }

    public void Remove(TrafficSelector remote) => Run(["route", "del", Prefix(remote), "dev", device], ignoreFailure: true);

    /// <summary>Brings the device up with a long queue: a burst must wait for the reader rather than be dropped.</summary>
    public void SetUp(int mtu) => Run(["link", "set", device, "up", "mtu", mtu.ToString(), "txqueuelen", "10000"]);

    private static string Prefix(TrafficSelector ts)
    {
        var text = ts.ToString();
        return text.Contains("..") ? throw new Rekindle.Control.Kernel.SaBackendException($"cannot route the address range {text}: not a prefix") : text.Split('[')[0];
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

    private static void Run(IEnumerable<string> args, bool ignoreFailure = false)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new Rekindle.Control.Kernel.SaBackendException("cannot run ip (iproute2)");
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 && !ignoreFailure)
            throw new Rekindle.Control.Kernel.SaBackendException($"ip {string.Join(' ', start.ArgumentList)} failed: {error.Trim()}");
    }
}
