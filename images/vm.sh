#!/bin/sh
# Builds what the QEMU guests need, into a work folder (default out/vm):
#   images/vm.sh kernel         the Debian kernel and its modules (apt-get download, dpkg -x, depmod)
#   images/vm.sh test-initrd    an initramfs that mounts the host's / read-only over 9p with a tmpfs overlay and
#                               runs the command given on the kernel command line (rekindle.run=...)
#   images/vm.sh boot CMD...    boots the test guest, runs CMD inside, prints its output, exits with its status
#   images/vm.sh image          the bootable gateway image: out/image/vmlinuz and out/image/rekindle-gateway.initrd.gz
# Everything is built from Debian packages (linux-image-amd64, busybox-static, qemu-system-x86) and this tree.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${REKINDLE_VM_DIR:-$ROOT/out/vm}
mkdir -p "$WORK"

kernel_package() {
    apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

kernel() {
    [ -f "$WORK/kernel/.done" ] && return 0
    pkg=$(kernel_package)
    [ -n "$pkg" ] || { apt-get update >/dev/null 2>&1; pkg=$(kernel_package); }
    [ -n "$pkg" ] || { echo "vm.sh: cannot find the kernel package behind linux-image-amd64 (apt-get update?)" >&2; exit 1; }
    rm -rf "$WORK/kernel" && mkdir -p "$WORK/kernel"
    (cd "$WORK" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "vm.sh: apt-get download $pkg failed" >&2; exit 1; }
    dpkg -x "$WORK"/${pkg}_*.deb "$WORK/kernel"
    version=$(ls "$WORK/kernel/lib/modules")
    depmod -b "$WORK/kernel" "$version"
    cp "$WORK/kernel/boot/vmlinuz-$version" "$WORK/vmlinuz"
    echo "$version" > "$WORK/kernel/.version"
    touch "$WORK/kernel/.done"
}

# The modules the guests need: 9p and overlay to mount the host, virtio, veth/tun, and the whole XFRM/crypto stack.
MODULE_DIRS="kernel/crypto kernel/net kernel/arch/x86/crypto kernel/lib kernel/fs/9p kernel/fs/fscache kernel/fs/netfs kernel/fs/overlayfs kernel/drivers/virtio kernel/drivers/net/veth.ko kernel/drivers/net/tun.ko kernel/drivers/block/virtio_blk.ko kernel/drivers/net/virtio_net.ko kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko"

initrd_base() { # $1 = staging folder
    stage=$1
    version=$(cat "$WORK/kernel/.version")
    rm -rf "$stage" && mkdir -p "$stage/bin" "$stage/lib/modules/$version" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/newroot" "$stage/ro" "$stage/rw" "$stage/results"
    cp /bin/busybox "$stage/bin/busybox"
    for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$stage/bin/$applet"; done
    for dir in $MODULE_DIRS; do
        src="$WORK/kernel/lib/modules/$version/$dir"
        [ -e "$src" ] || continue
        mkdir -p "$stage/lib/modules/$version/$(dirname "$dir")"
        cp -a "$src" "$stage/lib/modules/$version/$dir"
    done
    cp "$WORK/kernel/lib/modules/$version"/modules.* "$stage/lib/modules/$version/"
    depmod -b "$stage" "$version"
}

test_initrd() {
    kernel
    [ "$ROOT/images/guest-init.sh" -ot "$WORK/test-initrd.gz" ] && [ "$0" -ot "$WORK/test-initrd.gz" ] && return 0
    stage="$WORK/test-initrd"
    initrd_base "$stage"
    cp "$ROOT/images/guest-init.sh" "$stage/init"
    chmod 755 "$stage/init"
    (cd "$stage" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$WORK/test-initrd.gz"
}

boot() {
    test_initrd
    results=$(mktemp -d)
    trap 'rm -rf "$results"' EXIT
    printf '%s\n' "$*" > "$results/command"
    # TCG: nested KVM hangs on these machines (../shared/notes/kernel-and-vm.md).
    timeout "${REKINDLE_VM_TIMEOUT:-900}" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 3072 -smp 2 \
        -nographic -no-reboot -monitor none -serial stdio \
        -kernel "$WORK/vmlinuz" -initrd "$WORK/test-initrd.gz" \
        -append "console=ttyS0 panic=-1 quiet loglevel=3" \
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
        -virtfs local,path="$results",mount_tag=results,security_model=none,multidevs=remap \
        -nic none </dev/null | sed -u 's/\r$//' | grep -v '^\s*$' || true
    [ -f "$results/status" ] || { echo "vm.sh: the guest did not report a status" >&2; exit 1; }
    exit "$(cat "$results/status")"
}

# The bootable gateway image: the kernel plus an initramfs holding a self-contained rekindled, iproute2 and the
# libraries they need; it comes up as a gateway on boot (images/gateway-init.sh).
image() {
    kernel
    out="$ROOT/out/image"
    stage="$WORK/gateway-initrd"
    mkdir -p "$out"
    dotnet publish "$ROOT/appliance/rekindled/rekindled.csproj" -c Release -r linux-x64 --self-contained \
        -p:InvariantGlobalization=true -o "$WORK/rekindled" --nologo -v quiet >/dev/null
    initrd_base "$stage"
    cp "$ROOT/images/gateway-init.sh" "$stage/init"
    chmod 755 "$stage/init"
    mkdir -p "$stage/opt/rekindle" "$stage/sbin"
    cp -a "$WORK/rekindled/." "$stage/opt/rekindle/"
    cp "$(command -v ip)" "$stage/sbin/ip"
    rm -f "$stage/bin/ip" # iproute2, not busybox: the data plane asks it for JSON
    # Shared libraries: what ldd names for the runtime and iproute2, and OpenSSL (opened at run time by .NET's crypto).
    libs=$( (ldd "$stage/sbin/ip"; for so in "$stage"/opt/rekindle/*.so "$stage/opt/rekindle/rekindled"; do ldd "$so" 2>/dev/null; done) \
        | awk '/=> \// { print $3 } /^\s*\/lib/ { print $1 }' | sort -u)
    for lib in $libs $(ls /usr/lib/x86_64-linux-gnu/libssl.so.3 /usr/lib/x86_64-linux-gnu/libcrypto.so.3); do
        mkdir -p "$stage$(dirname "$lib")"
        cp -L "$lib" "$stage$lib"
    done
    mkdir -p "$stage/lib64" && cp -L /lib64/ld-linux-x86-64.so.2 "$stage/lib64/"
    (cd "$stage" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$out/rekindle-gateway.initrd.gz"
    cp "$WORK/vmlinuz" "$out/vmlinuz"
    echo "built $out/vmlinuz and $out/rekindle-gateway.initrd.gz ($(du -h "$out/rekindle-gateway.initrd.gz" | cut -f1))"
}

case "${1:-}" in
    kernel) kernel ;;
    image) image ;;
    test-initrd) test_initrd ;;
    boot) shift; boot "$@" ;;
    *) echo "usage: images/vm.sh kernel | test-initrd | boot CMD... | image" >&2; exit 2 ;;
esac
