# shellcheck shell=bash
# Host side shared by tests/e2e/net.sh and tests/perf/net-throughput.sh:
# the guest root with net-guest.sh in it, configs with network-interfaces,
# and reading the guest's G_ lines back. Sourced after scripts/bed/lib.sh
# (and tests/e2e/lib.sh for the e2e helpers).

NET_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# net_stage_rootfs DIR: a copy of the cached rootfs.ext4 with
# tests/e2e/net-guest.sh as /net-test.sh; sets NET_ROOTFS. Booted read-only,
# so one copy serves every boot (the cached image is never written).
net_stage_rootfs() {
	local dir=$1 src
	PATH=$PATH:/usr/sbin:/sbin
	command -v debugfs >/dev/null || bed_abort "debugfs is needed (Debian package e2fsprogs)"
	if [ -n "${IGNIS_GUEST_ROOTFS:-}" ]; then
		src=$IGNIS_GUEST_ROOTFS
	else
		src=$("$IGNIS_SRC/scripts/guest/build-rootfs.sh" | sed -n 's/^rootfs=//p' | tail -n1) ||
			bed_abort "scripts/guest/build-rootfs.sh failed"
	fi
	[ -f "$src" ] || bed_abort "guest rootfs '$src' does not exist"
	NET_ROOTFS=$dir/rootfs.ext4
	cp "$src" "$NET_ROOTFS"
	debugfs -w -R "write $NET_LIB_DIR/net-guest.sh /net-test.sh" "$NET_ROOTFS" >/dev/null 2>&1 ||
		bed_abort "debugfs could not write /net-test.sh into the rootfs copy"
	debugfs -R "stat /net-test.sh" "$NET_ROOTFS" 2>/dev/null |
		grep -q "Size: $(stat -c %s "$NET_LIB_DIR/net-guest.sh")" ||
		bed_abort "/net-test.sh is not in the rootfs copy after debugfs write"
}

# net_find_ip: iproute2's ip, brought into L1 with --bin (busybox's ip has
# no `tuntap`); sets NET_IP.
net_find_ip() {
	NET_IP=$(command -v ip || true)
	[ -n "$NET_IP" ] && "$NET_IP" -V 2>/dev/null | grep -q iproute2 ||
		bed_abort "iproute2's ip is needed (Debian package iproute2)"
}

# net_json FILE GUEST_CASE NET_JSON...: 1 vCPU, 256 MiB (the guest keeps a
# 32 MiB file in tmpfs), the read-only root drive, these interfaces; the
# guest runs "sh /net-test.sh GUEST_CASE".
net_json() {
	local file=$1 guest_case=$2 nets
	shift 2
	nets=$(
		IFS=,
		echo "$*"
	)
	cat >"$file" <<JSON
{
  "boot-source": {
    "kernel_image_path": "/bed/vmlinux",
    "boot_args": "$BED_IGNIS_ARGS -- sh /net-test.sh $guest_case"
  },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 256, "smt": false },
  "drives": [{"drive_id": "rootfs", "path_on_host": "/bed/rootfs.ext4",
              "is_root_device": true, "is_read_only": true}],
  "network-interfaces": [$nets]
}
JSON
}

# net_expect_out CASE TEXT WHAT: the guest printed a line starting with TEXT.
net_expect_out() {
	# No grep -q: it would leave the pipe early and pipefail would see SIGPIPE.
	if bed_case_out "$E2E_LOG" "$1" | grep -a -F -- "$2" >/dev/null; then
		bed_pass "$1: $3"
	else
		bed_fail "$1: $3: no '$2' on the guest console"
		e2e_case_tail "$E2E_LOG" "$1"
	fi
}

# net_expect_err CASE TEXT: ignis logged TEXT on stderr.
net_expect_err() {
	local line
	line=$(bed_case_err "$E2E_LOG" "$1" | grep -a -m1 -F -- "$2" || true)
	if [ -n "$line" ]; then
		bed_pass "$1: ignis logged: ${line#*] }"
	else
		bed_fail "$1: ignis did not log '$2'"
		e2e_case_tail "$E2E_LOG" "$1"
	fi
}

# net_expect_refused CASE TEXT: ignis would not start (exit 152, bad
# configuration) and said TEXT.
net_expect_refused() {
	local status
	status=$(bed_case_status "$E2E_LOG" "$1")
	if [ "$status" = 152 ]; then
		bed_pass "$1: ignis refused to start (exit status 152)"
	else
		bed_fail "$1: ignis exit status '${status:-none}', expected 152 (bad configuration)"
	fi
	net_expect_err "$1" "$2"
}

# net_ms LOG CASE MARKER: ms from the case's start to the guest's MARKER line.
net_ms() { bed_case_line_ms "$1" "$2" "$3"; }

# net_span CASE BEGIN END: "<ms> ms, <MB/s> MB/s" for 32 MiB between markers.
net_span() {
	local b e
	b=$(net_ms "$E2E_LOG" "$1" "$2")
	e=$(net_ms "$E2E_LOG" "$1" "$3")
	[ -n "$b" ] && [ -n "$e" ] || { echo "no timing"; return; }
	awk -v b="$b" -v e="$e" 'BEGIN { printf "%.0f ms, %.1f MB/s", e - b, 32 * 1.048576 * 1000 / (e - b) }'
}
