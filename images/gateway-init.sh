#!/bin/sh
# PID 1 of the Rekindle gateway image: kernel modules, the network from the kernel command line, the configuration
# from a virtio disk (a raw disk holding rekindled.toml: the second one, or the only one) or from
# rekindle.config=BASE64, then rekindled.
#   rekindle.addr=192.0.2.2/24  rekindle.gw=192.0.2.254  rekindle.lo=10.2.0.1/32  rekindle.config=...
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /run /tmp /etc/rekindle /dev/net && mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /tmp
[ -e /dev/net/tun ] || mknod /dev/net/tun c 10 200
echo /bin/modprobe > /proc/sys/kernel/modprobe
for m in virtio_pci virtio_blk virtio_net xfrm_user esp4 esp6 gcm ghash_generic aesni_intel authenc echainiv seqiv ctr cbc sha256_generic sha512_generic tun; do modprobe $m 2>/dev/null; done
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | head -n1; }
ip link set lo up
for a in $(arg rekindle.lo | tr ',' ' '); do ip addr add "$a" dev lo; done
if [ -n "$(arg rekindle.addr)" ]; then
    for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 0.5; done
    ip link set eth0 up
    ip addr add "$(arg rekindle.addr)" dev eth0
    [ -n "$(arg rekindle.gw)" ] && ip route add default via "$(arg rekindle.gw)"
fi
if [ -n "$(arg rekindle.config)" ]; then
    arg rekindle.config | base64 -d > /etc/rekindle/rekindled.toml
else
    for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.5; done
    for disk in /dev/vdb /dev/vda; do
        if [ -b "$disk" ]; then
            tr -d '\000' < "$disk" > /etc/rekindle/rekindled.toml
            break
        fi
    done
fi
echo "rekindle gateway: $(uname -r), $(ip -4 -o addr show dev eth0 2>/dev/null | awk '{print $4}')"
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 HOME=/tmp
/opt/rekindle/rekindled --config /etc/rekindle/rekindled.toml
echo "rekindled exited with $?"
echo o > /proc/sysrq-trigger
sleep 10
