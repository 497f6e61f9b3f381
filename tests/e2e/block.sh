#!/usr/bin/env bash
# e2e: virtio-blk under a real Linux guest, in the nested bed (this host's
# PVM /dev/kvm cannot boot Linux; see scripts/bed/README.md). One bed
# session, five guest boots, each on its own copy of the cached rootfs.ext4
# (the cache is shared: never written), no initramfs: root is /dev/vda.
# The guest side is tests/e2e/block-guest.sh, written into the image copy
# as /blk-test.sh and run from the cmdline (" -- sh /blk-test.sh ...").
#
#   sync      root rw, io_engine Sync, cache Unsafe: the guest writes 16 MiB
#             of random data to /data.bin, prints its md5, syncs and
#             remounts / read-only, `reboot -f` -> ignis exits 0. In L1
#             afterwards: `e2fsck -fn` clean (exit 0, no finding at all) and
#             the file dumped with debugfs has the guest's md5.
#   async     the same with io_engine Async, cache Writeback.
#   wthrough  Async + Writethrough, and a hard reset: the guest syncs but
#             leaves / mounted rw. L1 replays the journal as the next mount
#             would (e2fsck -E journal_only), then `e2fsck -fn` exits 0 with
#             no finding beyond the free blocks/inodes summary counters
#             (which ext4 keeps in memory while mounted), and the md5 matches.
#   ro        root and a data drive, both is_read_only: /sys/block/vd{a,b}/ro
#             are 1, / is mounted ro, dd to /dev/vdb and touch on / fail
#             with an error, the guest reads vdb with the right md5, and both
#             image files are byte-for-byte unchanged afterwards. (The
#             guest kernel refuses the write itself, EPERM, once the device
#             offers VIRTIO_BLK_F_RO; the device's own IOERR answer to a
#             write is checked by the host-KVM tier, tests/guest/
#             test-virtio-blk.sh.)
#   two       root (Sync) + a 24 MiB data drive (Async, Writeback): both in
#             /proc/partitions with their sizes (65536 and 24576 KiB), GET_ID
#             serials non-empty and distinct, 1 MiB of random data written
#             to vdb at byte 4096000 reads back in the guest (O_DIRECT) and
#             in L1 at that offset with the guest's md5, the rest of the
#             data image is still zero, and a file written on the root drive
#             at the same time is in the image.
# Every boot: IGNIS_INIT_OK, the guest command exits 0, ignis exits 0, and
# ignis logs one "drive ..." line per drive with the configured engine and
# cache mode.
#
# usage: block.sh IGNIS_BINARY [SOURCE_DIR]   (or env IGNIS_BIN, IGNIS_SRC;
#        IGNIS_GUEST_ROOTFS replaces scripts/guest/build-rootfs.sh's image)
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
e2e_setup "$@"
PATH=$PATH:/usr/sbin:/sbin # e2fsprogs

for tool in debugfs e2fsck; do
	command -v "$tool" >/dev/null || bed_abort "$tool is needed (Debian package e2fsprogs)"
done
if [ -n "${IGNIS_GUEST_ROOTFS:-}" ]; then
	rootfs_src=$IGNIS_GUEST_ROOTFS
else
	rootfs_src=$("$IGNIS_SRC/scripts/guest/build-rootfs.sh" | sed -n 's/^rootfs=//p' | tail -n1) ||
		bed_abort "scripts/guest/build-rootfs.sh failed"
fi
[ -f "$rootfs_src" ] || bed_abort "guest rootfs '$rootfs_src' does not exist"
echo "e2e block: guest rootfs $rootfs_src (copied; the cached image is never written)"

# Our copy, with the guest-side script in it.
rootfs=$E2E_WORK/rootfs.ext4
cp "$rootfs_src" "$rootfs"
debugfs -w -R "write $E2E_DIR/block-guest.sh /blk-test.sh" "$rootfs" >/dev/null 2>&1 ||
	bed_abort "debugfs could not write /blk-test.sh into the rootfs copy"
debugfs -R "stat /blk-test.sh" "$rootfs" 2>/dev/null | grep -q "Size: $(stat -c %s "$E2E_DIR/block-guest.sh")" ||
	bed_abort "/blk-test.sh is not in the rootfs copy after debugfs write"

# blk_json NAME GUEST_ARGS DRIVE_JSON...: a config with these drives and no
# initramfs; GUEST_ARGS go after " -- " (run by the guest init).
blk_json() {
	local name=$1 args=$2 drives
	shift 2
	drives=$(
		IFS=,
		echo "$*"
	)
	cat >"$E2E_WORK/$name.json" <<EOF
{
  "boot-source": {
    "kernel_image_path": "/bed/vmlinux",
    "boot_args": "$BED_IGNIS_ARGS -- $args"
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128, "smt": false },
  "drives": [$drives]
}
EOF
}
# drive ID PATH ROOT RO CACHE ENGINE
drive() {
	printf '{"drive_id": "%s", "path_on_host": "%s", "is_root_device": %s, "is_read_only": %s, "cache_type": "%s", "io_engine": "%s"}' \
		"$1" "$2" "$3" "$4" "$5" "$6"
}

blk_json sync "sh /blk-test.sh write16 clean" "$(drive rootfs /tmp/sync.ext4 true false Unsafe Sync)"
blk_json async "sh /blk-test.sh write16 clean" "$(drive rootfs /tmp/async.ext4 true false Writeback Async)"
blk_json wthrough "sh /blk-test.sh write16 crash" "$(drive rootfs /tmp/wthrough.ext4 true false Writethrough Async)"
blk_json ro "sh /blk-test.sh ro" \
	"$(drive rootfs /tmp/ro.ext4 true true Unsafe Sync)" \
	"$(drive data /tmp/ro-data.img false true Unsafe Async)"
blk_json two "sh /blk-test.sh two" \
	"$(drive rootfs /tmp/two.ext4 true false Unsafe Sync)" \
	"$(drive data /tmp/two-data.img false false Writeback Async)"

ig="/bed/bin/$IGNIS_NAME --no-api --config-file"
# Inner script (busybox sh in L1): \$ is evaluated in L1, $ig here.
cat >"$E2E_WORK/inner.sh" <<INNER
. /bed/case.sh
E2FSCK=/usr/sbin/e2fsck
DEBUGFS=/usr/sbin/debugfs

# write16 cases: boot, then check the image in L1.
for c in sync async wthrough; do
	cp /bed/rootfs.ext4 /tmp/\$c.ext4
	bed_case \$c 240 $ig /bed/\$c.json
	if [ \$c = wthrough ]; then
		bed_case \$c-replay 60 \$E2FSCK -E journal_only -y /tmp/\$c.ext4
	fi
	bed_case \$c-fsck 60 \$E2FSCK -fn /tmp/\$c.ext4
	bed_case \$c-dump 60 sh -c "\$DEBUGFS -R 'dump /data.bin /tmp/\$c.out' /tmp/\$c.ext4 2>/dev/null; echo HOST_MD5 \\\$(md5sum </tmp/\$c.out | cut -d' ' -f1); echo HOST_SIZE \\\$(stat -c %s /tmp/\$c.out)"
	rm -f /tmp/\$c.ext4 /tmp/\$c.out
done

# Read-only drives.
cp /bed/rootfs.ext4 /tmp/ro.ext4
dd if=/dev/urandom of=/tmp/ro-data.img bs=1M count=8 2>/dev/null
bed_case ro-before 60 sh -c "echo HOST_MD5 \\\$(md5sum </tmp/ro.ext4 | cut -d' ' -f1) \\\$(md5sum </tmp/ro-data.img | cut -d' ' -f1)"
bed_case ro 240 $ig /bed/ro.json
bed_case ro-after 60 sh -c "echo HOST_MD5 \\\$(md5sum </tmp/ro.ext4 | cut -d' ' -f1) \\\$(md5sum </tmp/ro-data.img | cut -d' ' -f1)"
rm -f /tmp/ro.ext4 /tmp/ro-data.img

# Two drives at once.
cp /bed/rootfs.ext4 /tmp/two.ext4
dd if=/dev/zero of=/tmp/two-data.img bs=1M count=24 2>/dev/null
bed_case two 240 $ig /bed/two.json
bed_case two-host 60 sh -c "\
echo AT_OFFSET \\\$(dd if=/tmp/two-data.img bs=4096 skip=1000 count=256 2>/dev/null | md5sum | cut -d' ' -f1); \
echo BEFORE \\\$(head -c 4096000 /tmp/two-data.img | md5sum | cut -d' ' -f1); \
echo ZERO_BEFORE \\\$(head -c 4096000 /dev/zero | md5sum | cut -d' ' -f1); \
echo AFTER \\\$(dd if=/tmp/two-data.img bs=4096 skip=1256 2>/dev/null | md5sum | cut -d' ' -f1); \
echo ZERO_AFTER \\\$(dd if=/dev/zero bs=4096 count=4888 2>/dev/null | md5sum | cut -d' ' -f1); \
echo ROOT_FILE \\\$(\$DEBUGFS -R 'cat /two.txt' /tmp/two.ext4 2>/dev/null)"
rm -f /tmp/two.ext4 /tmp/two-data.img
INNER

bed_start=$(date +%s)
e2e_run_bed "$E2E_WORK/inner.sh" --timeout 900 --file "$rootfs" \
	--bin "$(command -v e2fsck)" --bin "$(command -v debugfs)"
echo "e2e block: bed session took $(($(date +%s) - bed_start)) s"

# --- checks ------------------------------------------------------------------

# The value of the guest's "BLK_<KEY> <value>" line in case NAME.
blk() { bed_case_out "$E2E_LOG" "$1" | sed -n "s/^BLK_$2 //p" | head -n1; }
# The value of an L1-side "KEY value" line in case NAME.
host() { bed_case_out "$E2E_LOG" "$1" | sed -n "s/^$2 //p" | head -n1; }
expect() { # name what got want
	if [ "$3" = "$4" ]; then
		bed_pass "$1: $2 ($3)"
	else
		bed_fail "$1: $2: got '${3}', expected '${4}'"
	fi
}

# Every guest boot: init, command exit 0, clean ignis exit, drive log lines.
check_guest_run() { # name drive-line-ERE...
	local name=$1 re
	shift
	if bed_case_out "$E2E_LOG" "$name" | grep -a -q '^IGNIS_INIT_OK'; then
		bed_pass "$name: guest booted from virtio-blk to init"
	else
		bed_fail "$name: no IGNIS_INIT_OK: the guest did not reach init on its virtio-blk root"
		e2e_case_tail "$E2E_LOG" "$name" 25
	fi
	if bed_case_out "$E2E_LOG" "$name" | grep -a -q '^IGNIS_CMD_EXIT=0'; then
		bed_pass "$name: guest test script exited 0"
	else
		bed_fail "$name: guest test script did not report IGNIS_CMD_EXIT=0 ($(bed_case_out "$E2E_LOG" "$name" | grep -a -m1 '^IGNIS_CMD_EXIT' || echo 'no line'))"
	fi
	e2e_check_exit "$name"
	for re in "$@"; do
		if bed_case_err "$E2E_LOG" "$name" | grep -a -q -E "$re"; then
			bed_pass "$name: ignis set the drive up as configured ($(bed_case_err "$E2E_LOG" "$name" | grep -a -m1 -o -E "$re"))"
		else
			bed_fail "$name: no ignis log line matching /$re/"
		fi
	done
	if bed_case_err "$E2E_LOG" "$name" | grep -a -q -i 'virtio.*\(needs a reset\|invalid\|malformed\)'; then
		bed_fail "$name: ignis reported a virtio problem: $(bed_case_err "$E2E_LOG" "$name" | grep -a -i -m1 virtio)"
	fi
}

# e2fsck -fn: exit 0 and, with "strict", not one finding; otherwise only the
# free blocks/inodes summary counters may be off.
check_fsck() { # name strict|counters
	local name=$1 mode=$2 status findings other
	status=$(bed_case_status "$E2E_LOG" "$name")
	findings=$(bed_case_out "$E2E_LOG" "$name" | grep -a -E 'Fix\?|wrong|[Ee]rror|journal|[Cc]orrupt|[Ii]llegal|[Uu]nattached|differences' || true)
	if [ "$status" = 0 ]; then
		bed_pass "$name: e2fsck -fn exit status 0"
	else
		bed_fail "$name: e2fsck -fn exit status ${status:-none}, expected 0"
		e2e_case_tail "$E2E_LOG" "$name" 20
	fi
	if [ "$mode" = strict ]; then
		other=$findings
	else
		other=$(printf '%s\n' "$findings" | grep -v -E '^(Free (blocks|inodes) count wrong .*|Fix\? no)$' | grep -v '^$' || true)
	fi
	if [ -z "$other" ]; then
		bed_pass "$name: e2fsck found nothing$([ "$mode" = strict ] || echo ' beyond the summary counters')"
	else
		bed_fail "$name: e2fsck findings: $(printf '%s' "$other" | tr '\n' '|')"
	fi
}

check_write16() { # name engine cache clean|crash
	local name=$1 md5 size hmd5 hsize st
	check_guest_run "$name" "drive rootfs: /tmp/$name.ext4, 131072 sectors, cache $3, engine $2, virtio-mmio 0xc0001000 IRQ 5"
	expect "$name" "root file system in the guest" "$(blk "$name" ROOT)" "ext4 rw"
	expect "$name" "guest's write of /data.bin exit status" "$(blk "$name" WRITE_RC)" 0
	md5=$(blk "$name" MD5)
	size=$(blk "$name" SIZE)
	expect "$name" "guest wrote 16 MiB" "$size" 16777216
	expect "$name" "guest sync exit status" "$(blk "$name" SYNC_RC)" 0
	if [ "$4" = clean ]; then
		expect "$name" "guest remounted / read-only" "$(blk "$name" ROOT_AFTER)" "ext4 ro"
		check_fsck "$name-fsck" strict
	else
		st=$(bed_case_status "$E2E_LOG" "$name-replay")
		if [ "$st" = 0 ] || [ "$st" = 1 ]; then
			bed_pass "$name-replay: e2fsck -E journal_only replayed the journal (exit $st)"
		else
			bed_fail "$name-replay: e2fsck -E journal_only exit ${st:-none}, expected 0 or 1"
			e2e_case_tail "$E2E_LOG" "$name-replay"
		fi
		check_fsck "$name-fsck" counters
	fi
	hmd5=$(host "$name-dump" HOST_MD5)
	hsize=$(host "$name-dump" HOST_SIZE)
	if [[ "$md5" =~ ^[0-9a-f]{32}$ ]] && [ "$md5" = "$hmd5" ] && [ "$hsize" = 16777216 ]; then
		bed_pass "$name: /data.bin in the image (debugfs dump, $hsize bytes) has the guest's md5 $md5"
	else
		bed_fail "$name: /data.bin in the image: md5 '${hmd5}' size '${hsize}', guest wrote md5 '${md5}' size 16777216"
	fi
}

check_write16 sync Sync Unsafe clean
check_write16 async Async Writeback clean
check_write16 wthrough Async Writethrough crash

# ro
check_guest_run ro \
	"drive rootfs: /tmp/ro.ext4, 131072 sectors, read-only, cache Unsafe, engine Sync" \
	"drive data: /tmp/ro-data.img, 16384 sectors, read-only, cache Unsafe, engine Async, virtio-mmio 0xc0002000 IRQ 6"
expect ro "guest sees both drives read-only in sysfs" "$(blk ro SYSFS_RO)" "vda=1 vdb=1"
expect ro "root mounted read-only" "$(blk ro ROOT)" "ext4 ro"
rc=$(blk ro DD_RC)
if [ -n "$rc" ] && [ "$rc" != 0 ]; then
	bed_pass "ro: dd to /dev/vdb failed in the guest (exit $rc: $(blk ro DD_ERR))"
else
	bed_fail "ro: dd to the read-only /dev/vdb exited '${rc}', expected a failure"
fi
rc=$(blk ro TOUCH_RC)
if [ -n "$rc" ] && [ "$rc" != 0 ]; then
	bed_pass "ro: touch on the read-only root failed (exit $rc: $(blk ro TOUCH_ERR))"
else
	bed_fail "ro: touch on the read-only root exited '${rc}', expected a failure"
fi
before=$(host ro-before HOST_MD5)
after=$(host ro-after HOST_MD5)
if [ -n "$before" ] && [ "$before" = "$after" ]; then
	bed_pass "ro: both image files unchanged (md5 $before)"
else
	bed_fail "ro: image md5s before '$before', after '$after'"
fi
expect ro "guest reads the read-only data drive intact (md5)" "$(blk ro VDB_MD5)" "${before#* }"

# two
check_guest_run two \
	"drive rootfs: /tmp/two.ext4, 131072 sectors, cache Unsafe, engine Sync, virtio-mmio 0xc0001000 IRQ 5" \
	"drive data: /tmp/two-data.img, 49152 sectors, cache Writeback, engine Async, virtio-mmio 0xc0002000 IRQ 6"
expect two "root file system in the guest" "$(blk two ROOT)" "ext4 rw"
expect two "/proc/partitions vda" "$(bed_case_out "$E2E_LOG" two | sed -n 's/^BLK_PART vda //p')" 65536
expect two "/proc/partitions vdb" "$(bed_case_out "$E2E_LOG" two | sed -n 's/^BLK_PART vdb //p')" 24576
serials=$(blk two SERIAL)
sa=$(printf '%s' "$serials" | sed -n 's/^vda=\([^ ]*\) vdb=.*/\1/p')
sb=$(printf '%s' "$serials" | sed -n 's/.* vdb=\([^ ]*\)$/\1/p')
if [ -n "$sa" ] && [ -n "$sb" ] && [ "$sa" != "$sb" ]; then
	bed_pass "two: GET_ID serials non-empty and distinct ($serials)"
else
	bed_fail "two: GET_ID serials: '$serials' (want two non-empty, different values)"
fi
pmd5=$(blk two P_MD5)
expect two "guest write to vdb at byte 4096000 exit status" "$(blk two WRITE_RC)" 0
if [[ "$pmd5" =~ ^[0-9a-f]{32}$ ]]; then
	expect two "guest O_DIRECT read-back of vdb at 4096000 has the written md5" "$(blk two READBACK_MD5)" "$pmd5"
	expect two "data image in L1 at byte 4096000 has the guest's md5" "$(host two-host AT_OFFSET)" "$pmd5"
else
	bed_fail "two: no md5 of the guest's 1 MiB of data"
fi
expect two "data image before the written range is still zero (md5)" "$(host two-host BEFORE)" "$(host two-host ZERO_BEFORE)"
expect two "data image after the written range is still zero (md5)" "$(host two-host AFTER)" "$(host two-host ZERO_AFTER)"
expect two "guest's root write (/two.txt) in the root image" "$(host two-host ROOT_FILE)" "two-drives"
expect two "guest root write exit status" "$(blk two ROOT_WRITE_RC)" 0

bed_summary "e2e block"
