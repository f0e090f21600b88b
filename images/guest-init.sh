#!/bin/sh
# PID 1 of the test guest: mount the host's / (read-only 9p) under a tmpfs overlay, switch to it, run the command
# the host left in the results share, write its status there, power off.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
version=$(uname -r)
for m in virtio_pci 9pnet_virtio 9p overlay; do modprobe $m; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot /ro
mount -t 9p -o trans=virtio,version=9p2000.L,rw results /results
mount -t tmpfs -o size=1g tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/ro,upperdir=/rw/upper,workdir=/rw/work /newroot
mkdir -p /newroot/lib/modules /newroot/results
cp -a /lib/modules/$version /newroot/lib/modules/
mount --move /results /newroot/results
cat > /newroot/run-command.sh <<'INNER'
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/net /run /tmp && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
# /tmp stays the overlay of the host's /tmp: a tree checked out there must be visible in the guest
mkdir -p /run/netns
[ -e /dev/net/tun ] || mknod /dev/net/tun c 10 200
echo /sbin/modprobe > /proc/sys/kernel/modprobe
for m in xfrm_user esp4 esp6 gcm ghash_generic aesni_intel authenc echainiv seqiv ctr cbc sha256_generic sha512_generic veth tun xfrm4_tunnel tunnel4 udp_tunnel; do modprobe $m 2>/dev/null; done
ip link set lo up
export HOME=/root DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
cd /
sh -c "$(cat /results/command)" > /results/output 2>&1
echo $? > /results/status
cat /results/output
sync
echo o > /proc/sysrq-trigger
sleep 10
INNER
chmod 755 /newroot/run-command.sh
exec switch_root /newroot /run-command.sh
