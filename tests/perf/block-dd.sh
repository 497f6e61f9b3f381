#!/usr/bin/env bash
# Benchmark: sequential block I/O with dd, guest time against host time for
# the same dd, for ignis (io_engine Sync and Async) and QEMU -M microvm, in
# one session of the nested bed (scripts/bed/README.md).
#
# In L1 the disk is one image file (128 MiB, fully written, so no block
# allocation during the runs) on an ext4 file system on a brd RAM disk (brd
# and not L1's tmpfs root, because tmpfs in L1's kernel 6.1 refuses O_DIRECT).
# Every run does, REPS times for each of 1, 10 and 100 MiB:
#   dd if=/dev/zero of=DISK bs=1M count=N oflag=direct      (write)
#   dd if=DISK of=/dev/null bs=1M count=N iflag=direct      (read)
# with coreutils dd (busybox dd prints no timing) and reads dd's own
# "copied, S s" figure. DISK is /dev/vda in the guest (the image attached as
# a virtio-blk data drive, the guest's root is the initramfs) and the image
# file itself in L1 ("host"; plus conv=notrunc there, so dd does not
# truncate the file). The host runs come first and last; guests in between:
#   ignis-sync   cache_type CACHE, io_engine Sync
#   ignis-async  cache_type CACHE, io_engine Async (io_uring)
#   qemu         -drive ...,cache=<same mode>, -device virtio-blk-device,
#                -M microvm,acpi=off,auto-kernel-cmdline=off, modern
#                virtio-mmio, virtio_mmio.device= given on the cmdline
# CACHE defaults to None (O_DIRECT in the VMM, as the guest's dd asks for).
#
# Output: per-run raw lines, then a table of median MB/s (10^6 bytes/s, as
# dd counts) per size and direction, with each guest's time as a multiple
# of the host's time for the same dd (guest/host, 1.00 = host speed).
# L1 runs under TCG: absolute numbers are meaningless, ratios inside one
# session are what to read. A benchmark, not a test: no assertion on speed.
#
# usage: block-dd.sh [IGNIS_BINARY [SOURCE_DIR]] [--reps N]
#                    [--cache None|Writeback|Unsafe] [--log FILE]
#   (or env IGNIS_BIN, IGNIS_SRC)
# Exit status: 0 if every run produced all its dd results, 1 otherwise,
# run.sh's codes if the bed itself broke.
set -euo pipefail

reps=3
cache=None
log=""
pos=()
while [ $# -gt 0 ]; do
	case "$1" in
	--reps) reps=$2; shift 2 ;;
	--cache) cache=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	-*) echo "block-dd: unknown option $1" >&2; exit 2 ;;
	*) pos+=("$1"); shift ;;
	esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "block-dd: --reps: not a positive number: $reps" >&2; exit 2; }
case $cache in
None) qcache=none ;;
Writeback) qcache=writeback ;;
Unsafe) qcache=unsafe ;;
*) echo "block-dd: --cache must be None, Writeback or Unsafe" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/bed/lib.sh
. "$here/../../scripts/bed/lib.sh"
bed_args ${pos[@]+"${pos[@]}"}
if [ -z "$IGNIS_BIN" ] || [ ! -x "$IGNIS_BIN" ]; then
	echo "block-dd: no usable ignis binary (arg 1 or IGNIS_BIN)" >&2
	exit 2
fi
PATH=$PATH:/usr/sbin:/sbin
for tool in mke2fs cpio; do
	command -v "$tool" >/dev/null || { echo "block-dd: $tool is needed" >&2; exit 3; }
done

bed_guest_artefacts "$IGNIS_SRC"
work=$(mktemp -d "${TMPDIR:-/tmp}/ignis-perf.XXXXXX")
trap 'rm -rf "$work"' EXIT
bed_build_tstamp "$work"
console=${log:-$work/console.log}

# brd.ko from the L1 kernel package (run.sh only stages the KVM modules).
l1dir=$("$IGNIS_SRC/scripts/bed/l1.sh")
brd=$(find "$l1dir/lib/modules" -name brd.ko | head -n1)
[ -n "$brd" ] || { echo "block-dd: no brd.ko under $l1dir" >&2; exit 3; }

# The guest's initramfs plus a second (uncompressed) cpio with coreutils dd,
# its libraries and the dd script. The kernel unpacks concatenated archives;
# the zeros pad the first one to a 4-byte boundary, as it requires.
extra=$work/extra
mkdir -p "$extra/opt/coreutils"
cp -L /usr/bin/dd "$extra/opt/coreutils/dd"
for lib in $(ldd /usr/bin/dd | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
	mkdir -p "$extra$(dirname "$lib")"
	cp -L "$lib" "$extra$lib"
done
cp "$here/block-dd-guest.sh" "$extra/block-dd-guest.sh"
initrd=$work/initramfs-dd
cp "$GUEST_INITRAMFS" "$initrd"
pad=$(((4 - $(stat -c %s "$initrd") % 4) % 4))
head -c "$pad" /dev/zero >>"$initrd"
(cd "$extra" && find . | cpio -o -H newc -R 0:0 --quiet) >>"$initrd"

guest_cmd="sh /block-dd-guest.sh /opt/coreutils/dd /dev/vda $reps"
for eng in Sync Async; do
	cat >"$work/$eng.json" <<EOF
{
  "boot-source": {
    "kernel_image_path": "/bed/vmlinux",
    "initrd_path": "/bed/initramfs-dd",
    "boot_args": "$BED_IGNIS_ARGS -- $guest_cmd"
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128, "smt": false },
  "drives": [{"drive_id": "data", "path_on_host": "/mnt/img/disk.img", "is_root_device": false,
              "is_read_only": false, "cache_type": "$cache", "io_engine": "$eng"}]
}
EOF
done

# QEMU microvm puts the first virtio-mmio device at 0xfeb00e00, IRQ 12 (its
# transports are used from the top); it would append that virtio_mmio.device=
# itself, but at the END of the cmdline, i.e. after " -- ", where the kernel
# never sees it. So auto-kernel-cmdline=off and we say it before " -- ".
# acpi=off because the guest kernel has no ACPI; with it off microvm boots
# qboot (-bios bios-microvm.bin, a copy of qboot.rom) instead of SeaBIOS.
qemu_cmd="\$BED_QEMU -L \$BED_QEMU_DATA -M microvm,acpi=off,auto-kernel-cmdline=off \
-bios bios-microvm.bin -accel kvm -cpu qemu64 -smp 1 -m 128 \
-nodefaults -no-user-config -nographic -no-reboot -serial stdio \
-global virtio-mmio.force-legacy=false \
-drive file=/mnt/img/disk.img,if=none,id=d,format=raw,cache=$qcache \
-device virtio-blk-device,drive=d \
-kernel /bed/vmlinux -initrd /bed/initramfs-dd \
-append 'console=ttyS0 reboot=t panic=1 virtio_mmio.device=512@0xfeb00e00:12 -- $guest_cmd'"
ignis_cmd="/bed/bin/$(basename "$IGNIS_BIN") --no-api --config-file"
host_cmd="sh /bed/block-dd-guest.sh /usr/bin/dd /mnt/img/disk.img $reps notrunc"

cat >"$work/inner.sh" <<INNER
. /bed/case.sh
insmod /bed/brd.ko rd_nr=1 rd_size=262144 || { echo "BENCH: insmod brd failed"; exit 1; }
i=0
while [ ! -b /dev/ram0 ] && [ \$i -lt 50 ]; do sleep 0.1; i=\$((i + 1)); done
/usr/sbin/mke2fs -t ext4 -F -q /dev/ram0 || { echo "BENCH: mke2fs failed"; exit 1; }
mkdir -p /mnt/img
mount -t ext4 /dev/ram0 /mnt/img || { echo "BENCH: mount failed"; exit 1; }
/usr/bin/dd if=/dev/zero of=/mnt/img/disk.img bs=1M count=128 2>/dev/null
sync
echo 3 >/proc/sys/vm/drop_caches
echo "BENCH: image ready: \$(ls -l /mnt/img/disk.img)"
bed_case host-1 300 $host_cmd
bed_case ignis-sync 300 $ignis_cmd /bed/Sync.json
bed_case ignis-async 300 $ignis_cmd /bed/Async.json
bed_case qemu 300 $qemu_cmd
bed_case host-2 300 $host_cmd
umount /mnt/img
INNER

bed_start=$(date +%s.%N)
bed_rc=0
"$IGNIS_SRC/scripts/bed/run.sh" --qemu-peer --script "$work/inner.sh" --log "$console" \
	--timeout 1500 --bin "$IGNIS_BIN" --bin "$BED_TSTAMP" --bin /usr/bin/dd --bin "$(command -v mke2fs)" \
	--file /etc/mke2fs.conf:/etc/mke2fs.conf --file "$brd:brd.ko" \
	--file "$BED_DIR/case.sh" --file "$here/block-dd-guest.sh" \
	--file "$work/Sync.json" --file "$work/Async.json" \
	--file "$GUEST_KERNEL:vmlinux" --file "$initrd:initramfs-dd" || bed_rc=$?
bed_wall=$(echo "$bed_start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')

# --- results -----------------------------------------------------------------
# raw: "<vmm> <op> <MiB> <rep> <bytes> <seconds> <L1-observed ms since the previous result line>"
raw=$work/raw
: >"$raw"
failed=0
for c in host-1 ignis-sync ignis-async qemu host-2; do
	v=${c%-[12]}
	lines=$(bed_case_lines "$console" "$c" | grep -a 'o| DDRES ' || true)
	got=$(printf '%s\n' "$lines" | grep -c ' copied, ' || true)
	want=$((reps * 3 * 2))
	if [ "$got" != "$want" ]; then
		failed=1
		echo "block-dd: $c: $got of $want dd results (status $(bed_case_status "$console" "$c" || echo '?'))"
		bed_case_lines "$console" "$c" | grep -a -v 'o| \[' | tail -n 8 | sed 's/^/  /'
	fi
	printf '%s\n' "$lines" | awk -v v="$v" '
		/ copied, / {
			t = $1; sub(/^T\+/, "", t)
			for (i = 1; i <= NF; i++) if ($i == "DDRES") break
			op = $(i + 1); n = $(i + 2); rep = $(i + 3); bytes = $(i + 4)
			s = $0; sub(/.* copied, /, "", s); sub(/ s,.*/, "", s)
			printf "%s %s %s %s %s %s %s\n", v, op, n, rep, bytes, s, (prev == "" ? "-" : t - prev)
			prev = t
		}' >>"$raw"
done

echo
echo "block-dd: $(date -u +%Y-%m-%d), reps=$reps per size, cache $cache (QEMU cache=$qcache), bed wall time ${bed_wall} s"
echo "guest kernel: $GUEST_KERNEL"
echo "raw results (vmm op MiB rep bytes seconds L1-observed-ms-since-previous-line):"
sed 's/^/  /' "$raw"
echo
awk '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
$6 > 0 { k = $1 SUBSEP $2 SUBSEP $3; c[k]++; mbs[k, c[k]] = $5 / $6 / 1e6 }
END {
	nv = split("host ignis-sync ignis-async qemu", vs, " ")
	printf "| size | op | host MB/s | ignis Sync MB/s (x host time) | ignis Async MB/s (x host time) | QEMU MB/s (x host time) |\n"
	printf "|---|---|---|---|---|---|\n"
	split("1 10 100", ns, " ")
	for (ni = 1; ni <= 3; ni++) for (oi = 1; oi <= 2; oi++) {
		op = oi == 1 ? "write" : "read"; n = ns[ni]
		line = sprintf("| %s MiB | %s |", n, op)
		for (vi = 1; vi <= nv; vi++) {
			k = vs[vi] SUBSEP op SUBSEP n
			if (!c[k]) { m[vi] = 0; line = line " n/a |"; continue }
			for (i = 1; i <= c[k]; i++) a[i] = mbs[k, i]
			m[vi] = median(a, c[k])
			if (vi == 1 || !m[1]) line = line sprintf(" %.1f |", m[vi])
			else line = line sprintf(" %.1f (%.2f) |", m[vi], m[1] / m[vi])
		}
		print line
	}
}' "$raw"

if [ "$bed_rc" != 0 ]; then
	echo "block-dd: bed session ended with status $bed_rc (see run.sh messages above)"
	exit "$bed_rc"
fi
[ "$failed" = 0 ] || { echo "block-dd: some runs are missing results (see above)"; exit 1; }
exit 0
