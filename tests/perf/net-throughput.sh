#!/usr/bin/env bash
# Benchmark: TCP throughput and ping latency between the test host (L1) and
# a guest, for ignis and for QEMU -M microvm (virtio-net-device on the same
# TAP, userspace virtio-net: no vhost), side by side in one session of the
# nested bed (scripts/bed/README.md). Same guest kernel, same read-only
# rootfs (with tests/e2e/net-guest.sh as /net-test.sh), 1 vCPU, 256 MiB,
# tap0 = 172.16.0.1/30 in L1, guest 172.16.0.2.
#
# Each run: the guest pings L1 20 times (0.2 s apart) and L1 pings the guest
# the same way; then the guest fetches an N MiB file from L1 over HTTP
# (busybox httpd and wget, into /dev/null) and serves as much (zeroes) for
# L1 to fetch. HTTP rather than nc: busybox nc writes 1 KiB at a time, which
# would measure nc; httpd writes large blocks. Nothing measured makes the
# guest touch fresh RAM: a nested page fault per 4 KiB page would outweigh
# the network path. L1->guest time is read from the guest's
# G_RX_BEGIN/G_RX_END console lines, which scripts/bed/tstamp timestamps in
# L1 as they arrive; guest->L1 time is L1's wget run time. TCP
# retransmissions on each side are counted too: a lost segment costs a
# 200 ms+ timeout, which would dwarf the VMM's share of a run.
#
# L1 runs under TCG, so absolute numbers mean little; the ignis/QEMU ratios
# inside one session are what to read. A benchmark, not a test: nothing
# here asserts on speed.
#
# usage: net-throughput.sh [IGNIS_BINARY [SOURCE_DIR]] [--runs N] [--mib N]
#                          [--log FILE]
#   (or env IGNIS_BIN, IGNIS_SRC). Without a usable ignis binary only QEMU
#   runs, and the table says so.
# Exit status: 0 if every run completed; 1 otherwise (the table still shows
# what worked); run.sh's codes if the bed itself broke.
set -euo pipefail

runs=3
mib=64
log=""
pos=()
while [ $# -gt 0 ]; do
	case "$1" in
	--runs | -n) runs=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	-*) echo "net-throughput: unknown option $1" >&2; exit 2 ;;
	*) pos+=("$1"); shift ;;
	esac
done
for n in "$runs" "$mib"; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "net-throughput: not a positive number: $n" >&2; exit 2; }
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/bed/lib.sh
. "$here/../../scripts/bed/lib.sh"
# shellcheck source=tests/e2e/net-lib.sh
. "$here/../e2e/net-lib.sh"
bed_args ${pos[@]+"${pos[@]}"}

bed_peer_ignis net-throughput

bed_guest_artefacts "$IGNIS_SRC"
work=$(mktemp -d "${TMPDIR:-/tmp}/ignis-perf.XXXXXX")
trap 'rm -rf "$work"' EXIT
bed_build_tstamp "$work"
net_stage_rootfs "$work"
net_find_ip
console=${log:-$work/console.log}
head -c $((mib << 20)) /dev/urandom >"$work/blob"

net_json "$work/perf.json" "perf $mib" \
	'{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}'
ignis_cmd="/bed/bin/$(basename "${IGNIS_BIN:-ignis}") --no-api --config-file /bed/perf.json"
# QEMU microvm puts its own virtio_mmio.device= parameters at the very end of
# the cmdline, after " -- ", where they become init's arguments; so they are
# switched off and given here, before " -- ": the first -device takes the
# last transport (0xfeb00e00, IRQ 12), the second the one below it. No
# i8042 in microvm: reboot=t (triple fault + -no-reboot) ends QEMU. With
# acpi=off microvm asks for qboot.rom, which the bed stages under its other
# name, bios-microvm.bin (Debian's bios-microvm.bin is a link to qboot.rom).
qemu_append="console=ttyS0 reboot=t panic=1 root=/dev/vda ro \
virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11 -- sh /net-test.sh perf $mib"
qemu_cmd="\$BED_QEMU -L \$BED_QEMU_DATA -M microvm,acpi=off,auto-kernel-cmdline=off -accel kvm \
-bios \$BED_QEMU_DATA/bios-microvm.bin \
-cpu qemu64 -smp 1 -m 256 -nodefaults -no-user-config -nographic -no-reboot -serial stdio \
-kernel /bed/vmlinux -append '$qemu_append' \
-drive file=/bed/rootfs.ext4,format=raw,if=none,id=d0,readonly=on -device virtio-blk-device,drive=d0 \
-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
-device virtio-net-device,netdev=n0,mac=06:00:ac:10:00:02"

# Runs alternate and the order flips every round, as in boot-compare.sh.
# Per run, in L1: httpd serves the blob to the guest; a helper pings the
# guest once it answers, waits for the guest's own httpd (its /ready), times
# fetching the blob back (case get-<run>), and then releases the guest.
{
	echo ". /bed/case.sh"
	echo ". /bed/net-l1.sh"
	echo "net_tap tap0 172.16.0.1/30"
	# Same guest RAM backing for both: QEMU advises THP on its RAM, ignis
	# (huge_pages None, as Firecracker) does not; with THP, QEMU's guest
	# would take one nested fault per 2 MiB instead of per 4 KiB.
	echo "echo never >/sys/kernel/mm/transparent_hugepage/enabled"
	echo "echo \"L1_THP \$(cat /sys/kernel/mm/transparent_hugepage/enabled)\""
	for i in $(seq 1 "$runs"); do
		if [ $((i % 2)) = 1 ]; then order="ignis qemu"; else order="qemu ignis"; fi
		for v in $order; do
			[ "$v" = ignis ] && [ "$have_ignis" = 0 ] && continue
			cat <<RUN
httpd -f -p 8080 -h /bed/www &
serve=\$!
(
	if net_reachable 172.16.0.2 120; then
		echo "L1_PING $v-$i \$(ping -c 20 -i 0.2 172.16.0.2 | tail -n 1)"
	fi
	n=0
	until wget -q -O /dev/null http://172.16.0.2:8080/ready 2>/dev/null || [ \$n -ge 400 ]; do
		sleep 1
		n=\$((n + 1))
	done
	bed_case get-$v-$i 400 wget -q -O /dev/null http://172.16.0.2:8080/blob
	net_release 172.16.0.2 60
) &
helper=\$!
retrans=\$(net_retrans)
RUN
			if [ "$v" = ignis ]; then
				echo "bed_case $v-$i 900 $ignis_cmd"
			else
				echo "bed_case $v-$i 900 $qemu_cmd"
			fi
			echo "kill \$serve \$helper 2>/dev/null"
			echo "echo \"L1_RETRANS $v-$i \$((\$(net_retrans) - retrans))\""
		done
	done
	echo true
} >"$work/inner.sh"

bins=(--bin "$BED_TSTAMP" --bin "$NET_IP")
[ "$have_ignis" = 1 ] && bins+=(--bin "$IGNIS_BIN")
bed_start=$(date +%s.%N)
bed_rc=0
"$IGNIS_SRC/scripts/bed/run.sh" --qemu-peer --script "$work/inner.sh" --log "$console" \
	--timeout $((300 + runs * 2 * (90 + 2 * mib))) "${bins[@]}" \
	--file "$BED_DIR/case.sh" --file "$NET_LIB_DIR/net-l1.sh" --file "$work/perf.json" \
	--file "$GUEST_KERNEL:vmlinux" --file "$NET_ROOTFS:rootfs.ext4" \
	--file "$work/blob:www/blob" || bed_rc=$?
bed_wall=$(echo "$bed_start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')

# --- the table ---------------------------------------------------------------
# round-trip min/avg/max = a/b/c ms -> b
ping_avg() { sed -n 's|.*round-trip min/avg/max = [0-9.]*/\([0-9.]*\)/.*|\1|p' | tail -n1; }
# ms between two guest markers of case $1
span() {
	local b e
	b=$(bed_case_line_ms "$console" "$1" "$2")
	e=$(bed_case_line_ms "$console" "$1" "$3")
	[ -n "$b" ] && [ -n "$e" ] && awk -v b="$b" -v e="$e" 'BEGIN { printf "%.0f", e - b }'
}
mbps() { [ -n "$1" ] && awk -v ms="$1" -v mib="$mib" 'BEGIN { printf "%.2f", mib * 1.048576 * 1000 / ms }'; }

failed=0
echo
echo "net-throughput: $runs run(s) each, $mib MiB each way, 1 vCPU, 256 MiB, bed wall time ${bed_wall} s"
echo "guest kernel: $GUEST_KERNEL"
printf '%-4s %-6s %10s %8s %10s %8s %12s %12s %9s  %s\n' run vmm "rx ms" "rx MB/s" "tx ms" "tx MB/s" \
	"g->L1 ping" "L1->g ping" "retx L1/g" note
results=$work/results
: >"$results"
for i in $(seq 1 "$runs"); do
	for v in ignis qemu; do
		name=$v-$i
		if [ "$v" = ignis ] && [ "$have_ignis" = 0 ]; then
			printf '%-4s %-6s %10s %8s %10s %8s %12s %12s %9s  %s\n' "$i" "$v" - - - - - - - \
				"skipped: $ignis_note"
			continue
		fi
		rx=$(span "$name" G_RX_BEGIN G_RX_END || true)
		tx=$(bed_case_exit_ms "$console" "get-$name" | awk '{ printf "%.0f", $1 }')
		get_status=$(bed_case_status "$console" "get-$name")
		gping=$(bed_case_out "$console" "$name" | grep -a '^G_PING' | ping_avg || true)
		lping=$(grep -a "^L1_PING $name " "$console" | ping_avg || true)
		status=$(bed_case_status "$console" "$name")
		# Retransmitted segments: L1's (its data to the guest), the guest's (back).
		retx="$(sed -n "s/^L1_RETRANS $name //p" "$console" | tail -n1)/$(bed_case_out "$console" "$name" |
			awk '/^G_SNMP Tcp: [0-9]/ { print $14 }' | tail -n1)"
		note=""
		if [ -z "$status" ]; then
			note="FAILED: never finished (bed died?)"
		elif bed_case_timed_out "$console" "$name"; then
			note="FAILED: killed after 900 s"
		elif [ -z "$rx" ]; then
			note="FAILED: no G_RX_BEGIN/G_RX_END from the guest (exit $status)"
		elif ! bed_case_out "$console" "$name" | grep -a "^G_RX_END rc=0" >/dev/null; then
			note="FAILED: $(bed_case_out "$console" "$name" | grep -a '^G_RX_END' | tail -n1)"
		elif [ "${get_status:-x}" != 0 ] || [ -z "$tx" ]; then
			note="FAILED: L1's fetch from the guest: status ${get_status:-none}"
		elif [ "$status" != 0 ]; then
			note="FAILED: exit status $status"
		fi
		if [ -n "$note" ]; then
			failed=1
		else
			echo "$v $rx $tx ${gping:-0} ${lping:-0}" >>"$results"
		fi
		printf '%-4s %-6s %10s %8s %10s %8s %12s %12s %9s  %s\n' "$i" "$v" "${rx:--}" \
			"$(mbps "$rx" || echo -)" "${tx:--}" "$(mbps "$tx" || echo -)" \
			"${gping:--}" "${lping:--}" "$retx" "$note"
	done
done

# Medians over the good runs, and ignis/QEMU ratios of those.
awk -v mib="$mib" '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{ n[$1]++; rx[$1, n[$1]] = $2; tx[$1, n[$1]] = $3; gp[$1, n[$1]] = $4; lp[$1, n[$1]] = $5 }
END {
	for (v in n) {
		for (i = 1; i <= n[v]; i++) { a[i] = rx[v, i]; b[i] = tx[v, i]; c[i] = gp[v, i]; d[i] = lp[v, i] }
		mrx[v] = median(a, n[v]); mtx[v] = median(b, n[v]); mgp[v] = median(c, n[v]); mlp[v] = median(d, n[v])
		printf "median %-6s L1->guest %.2f MB/s  guest->L1 %.2f MB/s  ping guest->L1 %.3f ms  L1->guest %.3f ms  (%d good runs)\n",
			v, mib * 1048.576 / mrx[v], mib * 1048.576 / mtx[v], mgp[v], mlp[v], n[v]
	}
	if (n["ignis"] && n["qemu"])
		printf "ratio ignis/qemu: throughput L1->guest %.2f  guest->L1 %.2f  (>1: ignis faster); ping %.2f  %.2f  (<1: ignis lower)\n",
			mrx["qemu"] / mrx["ignis"], mtx["qemu"] / mtx["ignis"], mgp["ignis"] / mgp["qemu"], mlp["ignis"] / mlp["qemu"]
	else
		print "ratio ignis/qemu: n/a (one side has no good run)"
}' "$results"

if [ "$bed_rc" != 0 ]; then
	echo "net-throughput: bed session ended with status $bed_rc (see run.sh messages above)"
	exit "$bed_rc"
fi
[ "$failed" = 0 ] || { echo "net-throughput: some runs failed (see notes)"; exit 1; }
exit 0
