namespace Rekindle.Testbed;

/// <summary>
/// Two network namespaces joined by a veth pair: A = 192.0.2.1, B = 192.0.2.2, with the protected subnets'
/// first addresses (10.1.0.1, 10.2.0.1) on their loopbacks. Everything is removed on dispose, also after a failure.
/// </summary>
public sealed class TwoHostTopology : IDisposable
{
    public const string AddressA = "192.0.2.1", AddressB = "192.0.2.2";

    public TwoHostTopology()
    {
        if (!Shell.IsRoot)
            throw new InvalidOperationException("network namespace tests need root (CAP_NET_ADMIN)");
        var id = Guid.NewGuid().ToString("N")[..6];
        NamespaceA = $"rk-{id}-a";
        NamespaceB = $"rk-{id}-b";
        try
        {
            Shell.Run("ip", "netns", "add", NamespaceA);
            Shell.Run("ip", "netns", "add", NamespaceB);
            Shell.Run("ip", "link", "add", $"rk{id}a", "netns", NamespaceA, "type", "veth", "peer", "name", $"rk{id}b", "netns", NamespaceB);
            Setup(NamespaceA, $"rk{id}a", AddressA, "10.1.0.1");
            Setup(NamespaceB, $"rk{id}b", AddressB, "10.2.0.1");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string NamespaceA { get; }
    public string NamespaceB { get; }

    private static void Setup(string ns, string device, string address, string inner)
    {
        Shell.Run("ip", "-n", ns, "addr", "add", $"{address}/24", "dev", device);
        Shell.Run("ip", "-n", ns, "link", "set", device, "up");
        Shell.Run("ip", "-n", ns, "link", "set", "lo", "up");
        Shell.Run("ip", "-n", ns, "addr", "add", $"{inner}/32", "dev", "lo");
    }

    public void Dispose()
    {
        Shell.Try("ip", "netns", "del", NamespaceA);
        Shell.Try("ip", "netns", "del", NamespaceB);
    }
}
