using System.Diagnostics;
using System.Text;
using Rekindle.Testbed;

namespace Rekindle.Integration.Tests;

/// <summary>
/// Boots the gateway image (./build.ps1 image) under QEMU with its configuration on a second disk, attached by a tap
/// device to a namespace where a host-side rekindled (userspace ESP) negotiates with it; traffic then crosses from
/// userspace ESP on the host to kernel ESP in the guest.
/// </summary>
[Trait("Category", "Vm")]
public sealed class GatewayImageTests : IDisposable
{
    private const string Psk = "gateway-image-psk-0123456789";
    private readonly TwoHostTopology _net = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("rekindle-image-").FullName;
    private Process? _qemu;
    private readonly StringBuilder _console = new();
    private Rekindled? _host;

    [Fact]
    public void BootedImageComesUpAsAGatewayAndNegotiatesWithTheHost()
    {
        var root = VmTests.RepositoryRoot();
        var image = Path.Combine(root, "out", "image");
        if (!File.Exists(Path.Combine(image, "rekindle-gateway.initrd.gz")))
            Shell.Run(Path.Combine(root, "images", "vm.sh"), ["image"], TimeSpan.FromMinutes(10), check: true);

        // The guest's configuration, on a raw second disk.
        var disk = Path.Combine(_dir, "config.img");
        var config = Encoding.UTF8.GetBytes($"""
            [daemon]
            socket = "/run/rekindled.sock"
            dataplane = "xfrm"

            [connections.g-h]
            local_addrs = "198.51.100.2"
            remote_addrs = "198.51.100.1"
            local_id = "gateway.image"
            remote_id = "host.image"
            psk = "{Psk}"
            local_ts = "10.2.0.0/24"
            remote_ts = "10.1.0.0/24"
            """);
        var padded = new byte[65536];
        config.CopyTo(padded, 0);
        File.WriteAllBytes(disk, padded);

        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in new[] { "netns", "exec", _net.NamespaceA, "qemu-system-x86_64", "-accel", "tcg,thread=multi", "-cpu", "max", "-m", "1024", "-smp", "2",
            "-nographic", "-no-reboot", "-monitor", "none", "-serial", "stdio",
            "-kernel", Path.Combine(image, "vmlinuz"), "-initrd", Path.Combine(image, "rekindle-gateway.initrd.gz"),
            "-append", "console=ttyS0 panic=-1 quiet rekindle.addr=198.51.100.2/24 rekindle.lo=10.2.0.1/32",
            "-drive", $"file={disk},format=raw,if=virtio",
            "-netdev", "tap,id=n0,ifname=rkimg0,script=no,downscript=no", "-device", "virtio-net-pci,netdev=n0" })
            start.ArgumentList.Add(arg);
        _qemu = Process.Start(start)!;
        _qemu.OutputDataReceived += (_, e) => { lock (_console) _console.AppendLine(e.Data); };
        _qemu.ErrorDataReceived += (_, e) => { lock (_console) _console.AppendLine(e.Data); };
        _qemu.BeginOutputReadLine();
        _qemu.BeginErrorReadLine();

        Shell.WaitFor(() => _net.Exec(_net.NamespaceA, TimeSpan.FromSeconds(5), "ip", "link", "show", "rkimg0").ExitCode == 0 || _qemu.HasExited,
            TimeSpan.FromSeconds(30), "QEMU's tap device");
        _net.Exec(_net.NamespaceA, TimeSpan.FromSeconds(5), "ip", "addr", "add", "198.51.100.1/24", "dev", "rkimg0");
        _net.Exec(_net.NamespaceA, TimeSpan.FromSeconds(5), "ip", "link", "set", "rkimg0", "up");
        Shell.WaitFor(() => Console().Contains("rekindled started") || _qemu.HasExited, TimeSpan.FromMinutes(3), "rekindled to start in the image");
        Assert.Contains("SA back-end 'xfrm'", Console());

        _host = new Rekindled(_net.NamespaceA, Rekindled.Config("h-g", "198.51.100.1", "198.51.100.2", "host.image", "gateway.image",
            "10.1.0.0/24", "10.2.0.0/24", "aes256gcm16-prfsha256-x25519", "aes256gcm16", Psk, dataplane: "userspace"));
        var up = _host.Ctl("up", "h-g", "--timeout", "120");
        Assert.True(up.ExitCode == 0, up.All + _host.Log + Console());
        var ping = _net.Exec(_net.NamespaceA, TimeSpan.FromSeconds(60), "ping", "-c", "3", "-W", "10", "-I", "10.1.0.1", "10.2.0.1");
        Assert.True(ping.ExitCode == 0, ping.All + _host.Log + Console());
    }

    private string Console()
    {
        lock (_console)
            return _console.ToString();
    }

    public void Dispose()
    {
        _host?.Dispose();
        if (_qemu is { HasExited: false })
        {
            _qemu.Kill(entireProcessTree: true);
            _qemu.WaitForExit(10000);
        }
        _qemu?.Dispose();
        _net.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
