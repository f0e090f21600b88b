#!/usr/bin/env pwsh
# Rekindle's one entry point.
#   ./build.ps1 build            build everything
#   ./build.ps1 test [GROUP]     run the tests: all (default), unit, netns (namespaces, strongSwan; root), vm (QEMU guest)
#   ./build.ps1 demo             two namespaces, rekindled and strongSwan negotiate, SAs listed on both sides
#   ./build.ps1 bench dataplane  userspace ESP throughput against strongSwan kernel-libipsec and openssl speed
#   ./build.ps1 bench xfrm       in the QEMU guest: 10,000 CHILD SA pairs through rekindled's netlink layer vs ip -batch
#   ./build.ps1 image            the bootable gateway image (Debian kernel + initramfs with rekindled) in out/image
#   ./build.ps1 deps             install the Debian packages the tests and the demo need
# Run it as `dotnet tool restore && dotnet pwsh ./build.ps1 COMMAND` on Debian 12 with the .NET SDK.
param(
    [Parameter(Position = 0)] [string] $Command = 'build',
    [Parameter(Position = 1)] [string] $Group = 'all',
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$Bin = Join-Path $Out 'bin'

# Debian packages, and a file each one provides (to tell whether it is there).
$Packages = [ordered]@{
    'iproute2'                        = '/usr/sbin/ip'
    'procps'                          = '/usr/bin/pkill'
    'util-linux'                      = '/usr/bin/unshare'
    'strongswan-charon'               = '/usr/lib/ipsec/charon'
    'strongswan-swanctl'              = '/usr/sbin/swanctl'
    'libcharon-extra-plugins'         = '/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so'
    'libstrongswan-standard-plugins'  = '/usr/lib/ipsec/plugins/libstrongswan-openssl.so'
    'libstrongswan-extra-plugins'     = '/usr/lib/ipsec/plugins/libstrongswan-curve25519.so'
    'iputils-ping'                    = '/usr/bin/ping'
    'iperf3'                          = '/usr/bin/iperf3'
    'tcpdump'                         = '/usr/bin/tcpdump'
    'tshark'                          = '/usr/bin/tshark'
    'libpcap0.8'                      = '/usr/lib/x86_64-linux-gnu/libpcap.so.0.8'
    'gcc'                             = '/usr/bin/gcc'
    'qemu-system-x86'                 = '/usr/bin/qemu-system-x86_64'
    'busybox-static'                  = '/bin/busybox'
    'kmod'                            = '/usr/sbin/depmod'
    'cpio'                            = '/usr/bin/cpio'
    'linux-libc-dev'                  = '/usr/include/linux/xfrm.h'
}

function Invoke-Native([string] $File, [string[]] $Arguments) {
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Assert-Root([string] $Why) {
    if ((& id -u) -ne '0') { throw "$Why needs root (network namespaces, apt-get); run it as root" }
}

function Install-Dependencies {
    $missing = @($Packages.Keys | Where-Object { -not (Test-Path $Packages[$_]) })
    if ($missing.Count -eq 0) { return }
    Assert-Root "installing $($missing -join ', ')"
    Write-Host "installing Debian packages: $($missing -join ' ')"
    # Keep the package scripts from starting a system-wide strongSwan that would hold UDP 500/4500.
    $policy = '/usr/sbin/policy-rc.d'
    $ownPolicy = -not (Test-Path $policy)
    if ($ownPolicy) { Set-Content -Path $policy -Value "#!/bin/sh`nexit 101`n"; & chmod 755 $policy }
    try {
        $env:DEBIAN_FRONTEND = 'noninteractive'
        & apt-get install -y --no-install-recommends @missing
        if ($LASTEXITCODE -ne 0) {
            Invoke-Native 'apt-get' @('update')
            Invoke-Native 'apt-get' (@('install', '-y', '--no-install-recommends') + $missing)
        }
    }
    finally {
        if ($ownPolicy) { Remove-Item $policy -Force }
    }
    foreach ($service in 'strongswan-starter', 'strongswan') { & systemctl stop $service 2>$null }
}

function Invoke-Build {
    Invoke-Native 'dotnet' @('build', (Join-Path $Root 'Rekindle.slnx'), '-c', $Configuration, '--nologo', '-v', 'quiet')
    foreach ($project in 'appliance/rekindled/rekindled.csproj', 'appliance/rekindlectl/rekindlectl.csproj', 'tests/Rekindle.Testbed/Rekindle.Testbed.csproj') {
        Invoke-Native 'dotnet' @('build', (Join-Path $Root $project), '-c', $Configuration, '--nologo', '-v', 'quiet', '-o', $Bin)
    }
}

# Test groups are xunit traits: Category=Netns (namespaces, root), Category=Vm (the QEMU guest); unit is the rest.
function Invoke-Tests([string] $Which) {
    $projects = 'tests/Rekindle.Control.Tests', 'tests/Rekindle.Dataplane.Tests', 'tests/Rekindle.Xfrm.Tests',
                'tests/Rekindle.Appliance.Tests', 'tests/Rekindle.Integration.Tests'
    $filter = switch ($Which) {
        'all' { $null }
        'unit' { 'Category!=Netns&Category!=Vm' }
        'netns' { 'Category=Netns' }
        'vm' { 'Category=Vm' }
        default { throw "unknown test group '$Which' (all, unit, netns, vm)" }
    }
    if ($Which -ne 'unit') { Assert-Root "the $Which test group" }
    Install-Dependencies
    Invoke-Build
    $failed = @()
    foreach ($project in $projects) {
        $arguments = @('test', (Join-Path $Root $project), '-c', $Configuration, '--no-build', '--nologo', '--logger', 'console;verbosity=normal')
        if ($filter) { $arguments += @('--filter', $filter) }
        & dotnet @arguments
        if ($LASTEXITCODE -ne 0) { $failed += $project }
    }
    if ($failed.Count -gt 0) { throw "tests failed in: $($failed -join ', ')" }
    Write-Host 'all tests passed'
}

switch ($Command) {
    'build' { Invoke-Build }
    'deps' { Install-Dependencies }
    'image' { Assert-Root 'building the image'; Install-Dependencies; Invoke-Native (Join-Path $Root 'images/vm.sh') @('image') }
    'bench' {
        Assert-Root 'the benchmarks'; Install-Dependencies; Invoke-Build
        switch ($Group) {
            'dataplane' { Invoke-Native 'dotnet' @((Join-Path $Bin 'Rekindle.Testbed.dll'), 'bench', 'dataplane') }
            'xfrm' { Invoke-Native (Join-Path $Root 'images/vm.sh') @('boot', "dotnet $(Join-Path $Bin 'Rekindle.Testbed.dll') bench xfrm") }
            default { throw "unknown benchmark '$Group' (dataplane, xfrm)" }
        }
    }
    'test' { Invoke-Tests $Group }
    'demo' {
        Assert-Root 'the demo'; Install-Dependencies; Invoke-Build
        Invoke-Native 'dotnet' @((Join-Path $Bin 'Rekindle.Testbed.dll'), 'demo')
    }
    default { throw "unknown command '$Command' (build, test [all|unit|netns|vm], demo, bench dataplane|xfrm, image, deps)" }
}
