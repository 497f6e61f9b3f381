#!/usr/bin/env bash
# Benchmark: what a serverless platform feels, request -> the function's
# answer, from a cold boot and from a snapshot, under ignis and under QEMU
# -M microvm, side by side in one session of the nested bed
# (scripts/bed/README.md), plus the bare-KVM floor in the same L1.
#
# The guest is the function guest (scripts/guest/build-fn-rootfs.sh):
# 1 vCPU, --mem MiB (default 128), read-only ext4 root on virtio-blk, eth0
# on tap0; POST /invoke answers the body's sha256. fn-invoke
# (tests/perf/fn-invoke.c) plays the platform: it starts a command and
# POSTs /invoke until the first 200, timing from just before the command.
#
# Measured per run (ignis and QEMU alternate, N runs each):
#   cold   exec of the VMM (ignis --config-file; QEMU with -kernel) -> first
#          200; then 3 more invocations (the warm-up) and their times
#   ignis  pause, Full snapshot, SIGKILL; a fresh ignis (already listening,
#          not timed; its own startup time is in its log) loads it with
#          resume_vm: exec of ignis-ctl's load request -> first 200, sent
#          once the request was answered (File, then Uffd with
#          ignis-uffd-handler); ignis's "first vCPU exit" line too
#   QEMU   stop, migrate to a file, quit; a fresh QEMU with -incoming defer
#          (not timed): the QMP migrate-incoming write -> first 200 (sent
#          at once and retried every 50 ms, as QEMU has no answer that says
#          the guest runs)
#   floor  kvm-floor in L1: open /dev/kvm .. first KVM_RUN exit
# Every load's first answer must continue the guest's invocation counter
# (5: the snapshot was taken after 4 invocations); the table shows it.
#
# L1 runs under TCG: absolute times are inflated and noisy; read the ratios
# within one session. A benchmark, not a test: nothing asserts on times.
#
# usage: warm-start.sh [IGNIS_BINARY [SOURCE_DIR]] [--runs N] [--mem MiB]
#                      [--plot FILE.png] [--log FILE]
#   (or env IGNIS_BIN, IGNIS_SRC). ignis-ctl and ignis-uffd-handler come
#   from next to the ignis binary. --plot needs gnuplot (gnuplot-nox).
# Exit status: 0 if every step produced its numbers; 1 otherwise (the table
# still shows what worked); run.sh's codes if the bed itself broke.
set -euo pipefail

runs=5
mem=128
plot=""
log=""
pos=()
while [ $# -gt 0 ]; do
	case "$1" in
	--runs | -n) runs=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--plot) plot=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	-*) echo "warm-start: unknown option $1" >&2; exit 2 ;;
	*) pos+=("$1"); shift ;;
	esac
done
for n in "$runs" "$mem"; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "warm-start: not a positive number: $n" >&2; exit 2; }
done
if [ -n "$plot" ] && ! command -v gnuplot >/dev/null; then
	echo "warm-start: --plot needs gnuplot (apt-get install gnuplot-nox)" >&2
	exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/bed/lib.sh
. "$here/../../scripts/bed/lib.sh"
# shellcheck source=tests/e2e/net-lib.sh
. "$here/../e2e/net-lib.sh"
# shellcheck source=tests/e2e/function-lib.sh
. "$here/../e2e/function-lib.sh"
bed_args ${pos[@]+"${pos[@]}"}

bed_peer_ignis warm-start
bins=()
uffd=""
if [ "$have_ignis" = 1 ]; then
	d=$(dirname "$IGNIS_BIN")
	[ -x "$d/ignis-ctl" ] || { have_ignis=0; ignis_note="no ignis-ctl next to $IGNIS_BIN"; }
	[ -x "$d/ignis-uffd-handler" ] && uffd=/bed/bin/ignis-uffd-handler && bins+=(--bin "$d/ignis-uffd-handler")
	[ "$have_ignis" = 1 ] && bins+=(--bin "$IGNIS_BIN" --bin "$d/ignis-ctl")
	[ "$have_ignis" = 1 ] || echo "warm-start: $ignis_note: QEMU runs only"
fi

bed_guest_artefacts "$IGNIS_SRC"
net_find_ip
work=$(mktemp -d "${TMPDIR:-/tmp}/ignis-perf.XXXXXX")
trap 'rm -rf "$work"' EXIT
fn_build_artefacts "$work"
gcc -static -O2 -std=c11 -Wall -Wextra -Werror -o "$work/kvm-floor" "$here/kvm-floor.c" ||
	bed_abort "could not build a static kvm-floor"
console=${log:-$work/console.log}
fn_json "$work/fn.json" "$mem"

# QEMU: the same kernel, root and interface. microvm puts its own
# virtio_mmio.device= after " -- ", where they would become init's
# arguments, so they are switched off and given here (the first -device
# takes the last transport, 0xfeb00e00, IRQ 12). acpi=off asks for qboot,
# staged as bios-microvm.bin (see net-throughput.sh).
cat >"$work/fn-qemu.sh" <<EOF
# usage: fn-qemu.sh CONSOLE_FILE [more QEMU arguments]; QMP on stdio.
con=\$1
shift
exec "\$BED_QEMU" -L "\$BED_QEMU_DATA" -M microvm,acpi=off,auto-kernel-cmdline=off -accel kvm \\
	-bios "\$BED_QEMU_DATA/bios-microvm.bin" -cpu qemu64 -smp 1 -m $mem \\
	-nodefaults -no-user-config -display none -no-reboot -serial "file:\$con" -qmp stdio \\
	-global migration.store-global-state=off -kernel /bed/vmlinux \\
	-append 'console=ttyS0 reboot=t panic=1 root=/dev/vda ro virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11 -- sh /etc/fn/start' \\
	-drive file=/bed/fn-rootfs.ext4,format=raw,if=none,id=d0,readonly=on -device virtio-blk-device,drive=d0 \\
	-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \\
	-device virtio-net-device,netdev=n0,mac=06:00:ac:10:00:02 "\$@"
EOF
cat >"$work/inner.sh" <<EOF
RUNS=$runs
MEM=$mem
HAVE_IGNIS=$have_ignis
IGNIS=/bed/bin/$(basename "${IGNIS_BIN:-ignis}")
CTL=/bed/bin/ignis-ctl
FNI=/bed/bin/fn-invoke
UFFD_HANDLER=$uffd
. /bed/warm-start-l1.sh
EOF

echo "warm-start: one bed session, guest $mem MiB, $runs run(s) each"
bed_start=$(date +%s.%N)
bed_rc=0
# brd.ko from the L1 kernel package (run.sh only stages the KVM modules), and
# mke2fs, for the ext4 the snapshots live on (a page cache that can be dropped).
l1dir=$("$IGNIS_SRC/scripts/bed/l1.sh")
brd=$(find "$l1dir/lib/modules" -name brd.ko | head -n1)
[ -n "$brd" ] || bed_abort "no brd.ko under $l1dir"
"$IGNIS_SRC/scripts/bed/run.sh" --qemu-peer --mem $((1536 + 4 * mem)) --script "$work/inner.sh" \
	--log "$console" --timeout $((300 + runs * 300)) ${bins[@]+"${bins[@]}"} \
	--bin "$FN_INVOKE" --bin "$NET_IP" --bin "$work/kvm-floor" --bin "$(command -v mke2fs)" \
	--file /etc/mke2fs.conf:/etc/mke2fs.conf --file "$brd:brd.ko" \
	--file "$here/../e2e/net-l1.sh" --file "$here/../e2e/function-l1.sh" \
	--file "$here/warm-start-l1.sh" --file "$work/fn.json" --file "$work/fn-qemu.sh" \
	--file "$GUEST_KERNEL:vmlinux" --file "$FN_ROOTFS:fn-rootfs.ext4" >/dev/null || bed_rc=$?
bed_wall=$(echo "$bed_start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')

# shellcheck source=tests/perf/warm-start-report.sh
. "$here/warm-start-report.sh"
ws_report "$console" "$work/results"
[ -z "$plot" ] || ws_plot "$work/results" "$plot"

if [ "$bed_rc" != 0 ]; then
	echo "warm-start: bed session ended with status $bed_rc (console log: $console)"
	exit "$bed_rc"
fi
[ "$ws_failed" = 0 ] || { echo "warm-start: some steps failed (see above)"; exit 1; }
exit 0
