#!/bin/busybox sh
# PID 1 of a vmtest guest. Loads the modules for 9p and overlayfs, mounts the host's / read-only
# with a tmpfs overlay on top (writes stay in the guest), mounts the kernel file systems BPF tests
# use, and runs the command file named by vmtest.cmd= on the kernel command line, chrooted into the
# host's view. ttyS0 is the console (this script's messages and the exit marker), ttyS1 the
# command's stdout and ttyS2 its stderr.
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

fail() {
    echo "VMTEST-FAIL: $*"
    echo "VMTEST-EXIT: 125"
    poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "VMTEST-UNAME: $(uname -r)"

cmd=
for word in $(cat /proc/cmdline); do
    case "$word" in vmtest.cmd=*) cmd="${word#vmtest.cmd=}" ;; esac
done
[ -n "$cmd" ] || fail "no vmtest.cmd= on the kernel command line"

while read -r m; do
    insmod "/lib/vmtest-modules/$m.ko" || echo "VMTEST-WARN: insmod $m failed"
done </lib/vmtest-modules/order

mkdir -p /mnt/host /mnt/rw /mnt/root
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose host /mnt/host ||
    fail "cannot mount the host's / over 9p"
mount -t tmpfs -o mode=0755 tmpfs /mnt/rw
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay -o lowerdir=/mnt/host,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /mnt/root ||
    fail "cannot mount the overlay"

r=/mnt/root
mount -t proc proc $r/proc
mount -t sysfs sysfs $r/sys
mount -t devtmpfs devtmpfs $r/dev
mkdir -p $r/dev/pts $r/dev/shm
mount -t devpts devpts $r/dev/pts
mount -t tmpfs tmpfs $r/dev/shm
mount -t bpf bpf $r/sys/fs/bpf
mount -t tracefs tracefs $r/sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs $r/sys/kernel/debug
mount -t securityfs securityfs $r/sys/kernel/security 2>/dev/null
mount -t cgroup2 cgroup2 $r/sys/fs/cgroup
mkdir -p $r/boot
cp /lib/vmtest-config "$r/boot/config-$(uname -r)"
ip link set lo up

# The command's output must not pass through the tty's line discipline (no \n -> \r\n), and the
# command must not see a terminal (no colours): it writes into pipes that are copied to the ports.
stty -F /dev/ttyS1 raw -echo
stty -F /dev/ttyS2 raw -echo
mkfifo /tmp/stdout /tmp/stderr
cat /tmp/stdout >/dev/ttyS1 &
out=$!
cat /tmp/stderr >/dev/ttyS2 &
err=$!
chroot $r /bin/sh "$cmd" </dev/null >/tmp/stdout 2>/tmp/stderr
rc=$?
# Wait until everything is copied out (a leftover background process holding the pipe open keeps
# the guest alive until the host's timeout).
wait $out $err
echo "VMTEST-EXIT: $rc"
poweroff -f
