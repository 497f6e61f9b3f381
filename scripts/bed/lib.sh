# shellcheck shell=bash
# Helpers for the scripts that drive the nested bed (tests/e2e/*.sh,
# tests/perf/*.sh). Sourced by bash, not run. The inner side (busybox sh in
# L1) has its own small library, scripts/bed/case.sh.
#
# The pattern: host side stages files and writes an inner script that runs
# each case with `bed_case NAME LIMIT CMD...`; run.sh boots one bed; the host
# side then reads each case's lines out of the console log:
#   NAME T+<ms> o| <stdout line>
#   NAME T+<ms> e| <stderr line>
#   NAME TSTAMP_EXIT status=<n> ms=<ms>
# One bed boot costs ~4 s before any workload, so a test runs several cases
# in one session and still reports each case on its own.

BED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

bed_passes=0
bed_failures=0

bed_pass() { echo "PASS: $*"; bed_passes=$((bed_passes + 1)); }
bed_fail() { echo "FAIL: $*"; bed_failures=$((bed_failures + 1)); }

# Print the tally and exit non-zero if anything failed.
bed_summary() {
	local name=$1
	echo "$name: $bed_passes passed, $bed_failures failed"
	[ "$bed_failures" -eq 0 ] || exit 1
	exit 0
}

# Fail the whole test before any bed runs (no point booting it).
bed_abort() {
	echo "FAIL: $*"
	exit 1
}

# Resolve the ignis binary and source dir from "$1" "$2" or IGNIS_BIN /
# IGNIS_SRC, the calling convention of every e2e/perf script.
# Sets IGNIS_BIN and IGNIS_SRC.
bed_args() {
	IGNIS_BIN=${1:-${IGNIS_BIN:-}}
	IGNIS_SRC=${2:-${IGNIS_SRC:-$(cd "$BED_DIR/../.." && pwd)}}
	[ -d "$IGNIS_SRC/scripts/guest" ] || bed_abort "source dir $IGNIS_SRC has no scripts/guest/"
}

# Sets GUEST_KERNEL and GUEST_INITRAMFS, building them through
# scripts/guest/* (cached; the kernel's first build takes ~7 min).
# IGNIS_GUEST_KERNEL / IGNIS_GUEST_INITRAMFS override the builders, e.g. to
# try a different kernel; IGNIS_GUEST_VARIANT=tiny picks the guest matrix's
# second kernel (scripts/guest/build-kernel.sh tiny).
bed_guest_artefacts() {
	local src=$1 out
	if [ -n "${IGNIS_GUEST_KERNEL:-}" ]; then
		GUEST_KERNEL=$IGNIS_GUEST_KERNEL
	else
		[ -x "$src/scripts/guest/build-kernel.sh" ] ||
			bed_abort "guest kernel builder $src/scripts/guest/build-kernel.sh is missing"
		echo "bed: building/locating the guest kernel ${IGNIS_GUEST_VARIANT:+(variant $IGNIS_GUEST_VARIANT) }(first build ~7 min)"
		out=$("$src/scripts/guest/build-kernel.sh" ${IGNIS_GUEST_VARIANT:+"$IGNIS_GUEST_VARIANT"}) ||
			bed_abort "scripts/guest/build-kernel.sh failed"
		GUEST_KERNEL=$(printf '%s\n' "$out" | tail -n1)
	fi
	if [ -n "${IGNIS_GUEST_INITRAMFS:-}" ]; then
		GUEST_INITRAMFS=$IGNIS_GUEST_INITRAMFS
	else
		[ -x "$src/scripts/guest/build-rootfs.sh" ] ||
			bed_abort "guest rootfs builder $src/scripts/guest/build-rootfs.sh is missing"
		out=$("$src/scripts/guest/build-rootfs.sh") ||
			bed_abort "scripts/guest/build-rootfs.sh failed"
		GUEST_INITRAMFS=$(printf '%s\n' "$out" | sed -n 's/^initramfs=//p' | tail -n1)
	fi
	[ -f "$GUEST_KERNEL" ] || bed_abort "guest kernel '$GUEST_KERNEL' does not exist"
	[ -f "$GUEST_INITRAMFS" ] || bed_abort "guest initramfs '$GUEST_INITRAMFS' does not exist"
	echo "bed: guest kernel $GUEST_KERNEL"
	echo "bed: guest initramfs $GUEST_INITRAMFS"
}

# bed_peer_ignis NAME: for benchmarks that compare ignis with a peer. Sets
# have_ignis (1/0) and ignis_note; without a usable ignis binary the
# benchmark runs the peer alone, and says so.
bed_peer_ignis() {
	have_ignis=1
	ignis_note=""
	if [ -z "$IGNIS_BIN" ]; then
		have_ignis=0
		ignis_note="no ignis binary given (arg 1 or IGNIS_BIN)"
	elif [ ! -x "$IGNIS_BIN" ]; then
		have_ignis=0
		ignis_note="ignis binary '$IGNIS_BIN' missing or not executable"
	fi
	[ "$have_ignis" = 1 ] || echo "$1: $ignis_note: QEMU runs only"
}

# Build the static timestamping runner into DIR; sets BED_TSTAMP to it.
# (Not a $(...) function: bed_abort must end the caller, not a subshell.)
bed_build_tstamp() {
	local dir=$1
	command -v gcc >/dev/null || bed_abort "gcc is needed to build scripts/bed/tstamp.c"
	gcc -static -O2 -std=c11 -Wall -o "$dir/tstamp" "$BED_DIR/tstamp.c" ||
		bed_abort "could not build a static tstamp (is libc6-dev installed?)"
	# shellcheck disable=SC2034 # for the caller
	BED_TSTAMP=$dir/tstamp
}

# bed_vm_json FILE KERNEL INITRD VCPUS MEM_MIB HUGE_PAGES BOOT_ARGS
# Firecracker's --config-file schema, paths as seen inside L1.
bed_vm_json() {
	local file=$1 kernel=$2 initrd=$3 vcpus=$4 mem=$5 huge=$6 args=$7
	# Boot args are ours, but keep the JSON valid whatever they hold.
	args=${args//\\/\\\\}
	args=${args//\"/\\\"}
	cat >"$file" <<EOF
{
  "boot-source": {
    "kernel_image_path": "$kernel",
    "boot_args": "$args",
    "initrd_path": "$initrd"
  },
  "machine-config": {
    "vcpu_count": $vcpus,
    "mem_size_mib": $mem,
    "smt": false,
    "huge_pages": "$huge"
  }
}
EOF
}

# The boot args every ignis run uses (the i8042 options keep Linux from
# probing for an AUX port and a mux the VMM's i8042 does not have).
# shellcheck disable=SC2034 # for the caller
BED_IGNIS_ARGS="console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux i8042.dumbkbd"

# --- reading a case back out of the console log -----------------------------

# All lines of case NAME, prefix stripped.
bed_case_lines() { grep -a "^$2 " "$1" | sed "s/^$2 //" || true; }
# The case's stdout (o) or stderr (e) text, timestamps stripped.
bed_case_out() { bed_case_lines "$1" "$2" | sed -n 's/^T+[0-9.]* o| //p'; }
bed_case_err() { bed_case_lines "$1" "$2" | sed -n 's/^T+[0-9.]* e| //p'; }
# Exit status of the case's command; empty if it never finished.
bed_case_status() { bed_case_lines "$1" "$2" | sed -n 's/^TSTAMP_EXIT status=\([0-9]*\).*/\1/p' | tail -n1; }
# ms from start to process exit; empty if it never finished.
bed_case_exit_ms() { bed_case_lines "$1" "$2" | sed -n 's/^TSTAMP_EXIT status=[0-9]* ms=\([0-9.]*\).*/\1/p' | tail -n1; }
# ms from start to the first line (stdout or stderr) containing PATTERN (ERE).
bed_case_line_ms() {
	bed_case_lines "$1" "$2" | grep -E -m1 "^T\+[0-9.]* [oe]\| .*($3)" |
		sed 's/^T+\([0-9.]*\) .*/\1/' || true
}
bed_case_timed_out() { bed_case_lines "$1" "$2" | grep -q '^TSTAMP_TIMEOUT'; }
