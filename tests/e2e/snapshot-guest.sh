#!/bin/sh
# Guest side of tests/e2e/snapshot-devices.sh, written into a copy of the
# rootfs as /snap-test.sh and started from the cmdline (" -- sh /snap-test.sh").
# Runs in busybox sh in the L2 guest; every line for the host starts with G_
# (or CNT, the counter).
#
# Before the snapshot: eth0 172.16.0.2/30 up, 1 MiB of random data in
# /before.bin on the root disk (synced), a listener on port 7000, then the
# counter. After the restore L1 connects to port 7000 (through another TAP);
# the guest then pings L1, drops its page cache and re-reads /before.bin from
# the disk, writes /after.bin, syncs, remounts / read-only (so the image is
# clean for L1's e2fsck) and reboots: ignis exits 0.
set -u
mkfifo /tmp/hold
ip addr add 172.16.0.2/30 dev eth0 && ip link set eth0 up || echo G_NET_FAILED
head -c 1048576 /dev/urandom >/before.bin
sync
echo "G_BEFORE_MD5 $(md5sum </before.bin | cut -d' ' -f1)"
(
	# busybox nc quits when stdin ends: a read-write FIFO never ends.
	timeout 900 nc -l -p 7000 0<>/tmp/hold >/dev/null
	echo "G_RELEASED rc=$?"
	ping -c 2 -W 2 172.16.0.1 >/dev/null 2>&1 && echo G_PING_AFTER_OK
	echo 3 >/proc/sys/vm/drop_caches
	echo "G_REREAD_MD5 $(md5sum </before.bin | cut -d' ' -f1)"
	head -c 65536 /dev/urandom >/after.bin
	echo "G_AFTER_MD5 $(md5sum </after.bin | cut -d' ' -f1)"
	sync
	mount -o remount,ro /
	echo "G_REMOUNT_RO rc=$?"
	reboot -f
) &
echo G_READY
i=0
while :; do
	i=$((i + 1))
	echo "CNT $i"
	sleep 0.2
done
