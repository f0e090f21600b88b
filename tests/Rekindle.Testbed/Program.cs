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
            case "resend":
                return FrameInjector.Run(args[1..]);
            default:
                Console.Error.WriteLine("usage: Rekindle.Testbed demo | resend --iface IF --pcap FILE [--times N] [--flip OFFSET]");
                return 2;
        }
    }
}
