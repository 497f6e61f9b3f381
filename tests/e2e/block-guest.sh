# shellcheck shell=sh
# Guest side of tests/e2e/block.sh. block.sh writes this file into its copy
# of rootfs.ext4 as /blk-test.sh (debugfs -w), and each case boots with
#   ... -- sh /blk-test.sh SCENARIO [ARGS]
# on the kernel cmdline (scripts/guest/init runs it with sh -c). Runs under
# busybox sh in the guest. Every result is one "BLK_<KEY> <value>" line on
# the console; the host side (block.sh) decides pass or fail.
#
#   write16 clean|crash
#       16 MiB of random data to /data.bin on the root file system, its
#       md5, sync; "clean" then remounts / read-only (a clean shutdown:
#       the journal is checkpointed), "crash" leaves it mounted rw, so the
#       guest's `reboot -f` is a hard reset after the sync.
#   ro  root and vdb are read-only drives: what the guest sees, that writes
#       fail, and the md5 of vdb as the guest reads it.
#   two root and a data drive vdb: sizes, serials, 1 MiB of random data
#       written to vdb at byte 4096000 and read back with O_DIRECT.

scenario=$1
shift

say() { echo "BLK_$*"; }

root_line() {
	# "/dev/root / ext4 rw,relatime 0 0" -> "ext4 rw"
	while read -r dev mnt fs opts _; do
		[ "$mnt" = / ] && [ "$dev" != rootfs ] && echo "$fs ${opts%%,*}"
	done </proc/mounts
}

case $scenario in
write16)
	say "ROOT $(root_line)"
	head -c 16777216 /dev/urandom >/data.bin
	say "WRITE_RC $?"
	say "MD5 $(md5sum </data.bin | cut -d' ' -f1)"
	say "SIZE $(stat -c %s /data.bin)"
	sync
	say "SYNC_RC $?"
	if [ "$1" = clean ]; then
		mount -o remount,ro /
		say "REMOUNT_RO_RC $?"
		say "ROOT_AFTER $(root_line)"
	fi
	;;
ro)
	say "ROOT $(root_line)"
	say "SYSFS_RO vda=$(cat /sys/block/vda/ro) vdb=$(cat /sys/block/vdb/ro)"
	out=$(dd if=/dev/zero of=/dev/vdb bs=4096 count=1 oflag=direct 2>&1)
	say "DD_RC $?"
	say "DD_ERR $(echo "$out" | grep -m1 -i 'error\|denied\|not permitted\|read-only')"
	out=$(touch /newfile 2>&1)
	say "TOUCH_RC $?"
	say "TOUCH_ERR $out"
	say "VDB_MD5 $(dd if=/dev/vdb bs=1M 2>/dev/null | md5sum | cut -d' ' -f1)"
	;;
two)
	say "ROOT $(root_line)"
	while read -r _ _ kb name; do
		case $name in vda | vdb) say "PART $name $kb" ;; esac
	done </proc/partitions
	say "SERIAL vda=$(cat /sys/block/vda/serial) vdb=$(cat /sys/block/vdb/serial)"
	head -c 1048576 /dev/urandom >/tmp/p
	say "P_MD5 $(md5sum </tmp/p | cut -d' ' -f1)"
	dd if=/tmp/p of=/dev/vdb bs=4096 seek=1000 conv=notrunc,fsync 2>/dev/null
	say "WRITE_RC $?"
	say "READBACK_MD5 $(dd if=/dev/vdb bs=4096 skip=1000 count=256 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)"
	# Something on the root drive too, while vdb is in use.
	echo "two-drives" >/two.txt && sync
	say "ROOT_WRITE_RC $?"
	;;
*)
	say "UNKNOWN_SCENARIO $scenario"
	exit 2
	;;
esac
