using Rekindle.Testbed;

namespace Rekindle.Integration.Tests;

/// <summary>
/// Real-kernel proof in a QEMU guest (Debian kernel with ESP, TCG): the XFRM back-end carries ping and TCP through
/// kernel ESP between two rekindled and against strongSwan's kernel-netlink, and leaves no SA or policy behind.
/// Slow (a few minutes under TCG): run alone with ./build.ps1 test vm.
/// </summary>
[Trait("Category", "Vm")]
public sealed class VmTests
{
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "images", "vm.sh")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (images/vm.sh) above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void XfrmBackEndInsideADebianKernelGuest()
    {
        var testbed = Path.Combine(AppContext.BaseDirectory, "Rekindle.Testbed.dll");
        var result = Shell.Run(Path.Combine(RepositoryRoot(), "images", "vm.sh"), ["boot", $"dotnet {testbed} vm-xfrm"], TimeSpan.FromMinutes(15), check: false);
        Assert.True(result.ExitCode == 0 && result.Output.Contains("VM XFRM: all passed"), result.All);
        Assert.Contains("PASS [aes256gcm16] rekindled vs charon: ping A -> B through kernel ESP", result.Output);
    }
}
