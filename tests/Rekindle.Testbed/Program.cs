namespace Rekindle.Testbed;

/// <summary>Rekindle.Testbed demo: the quick-start demonstration, built from the same pieces as the namespace tests.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "demo":
                return Demo.Run(Console.Out);
            case "bench" when args.Length > 1 && args[1] == "dataplane":
                return DataplaneBenchmark.Run(Console.Out, args.Length > 2 ? int.Parse(args[2]) : 5);
            case "bench" when args.Length > 1 && args[1] == "xfrm":
                return XfrmBenchmark.Run(Console.Out, args.Length > 2 ? int.Parse(args[2]) : 10_000);
            case "vm-xfrm":
                return VmXfrmScenario.Run(Console.Out);
            case "resend":
                return FrameInjector.Run(args[1..]);
            default:
                Console.Error.WriteLine("usage: Rekindle.Testbed demo | bench dataplane [SECONDS] | resend --iface IF --pcap FILE [--times N] [--flip OFFSET]");
                return 2;
        }
    }
}
