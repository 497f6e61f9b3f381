#!/usr/bin/env bash
# Benchmark: boot time of ignis against QEMU -M microvm, side by side in one
# session of the nested bed (scripts/bed/README.md), same guest kernel and
# initramfs, same vCPUs and RAM. For each run: ms from process start to the
# guest's IGNIS_INIT_OK line and to process exit, measured in L1 by
# scripts/bed/tstamp; for ignis also its own Guest-boot-time (--boot-timer).
#
# L1 runs under TCG, so absolute numbers mean little; the ignis/QEMU ratio
# inside one session is what to read. A benchmark, not a test: nothing here
# asserts on times.
#
# usage: boot-compare.sh [IGNIS_BINARY [SOURCE_DIR]] [--runs N] [--vcpus N]
#                        [--mem MiB] [--log FILE]
#   (or env IGNIS_BIN, IGNIS_SRC). Without a usable ignis binary only QEMU
#   runs, and the table says so.
# Exit status: 0 if every run booted to init and exited; 1 otherwise (the
# table still shows what worked); run.sh's codes if the bed itself broke.
set -euo pipefail

runs=3
vcpus=1
mem=128
log=""
pos=()
while [ $# -gt 0 ]; do
	case "$1" in
	--runs | -n) runs=$2; shift 2 ;;
	--vcpus) vcpus=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	-*) echo "boot-compare: unknown option $1" >&2; exit 2 ;;
	*) pos+=("$1"); shift ;;
	esac
done
for n in "$runs" "$vcpus" "$mem"; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "boot-compare: not a positive number: $n" >&2; exit 2; }
done

# shellcheck source=scripts/bed/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../scripts/bed" && pwd)/lib.sh"
bed_args ${pos[@]+"${pos[@]}"}

bed_peer_ignis boot-compare

bed_guest_artefacts "$IGNIS_SRC"
work=$(mktemp -d "${TMPDIR:-/tmp}/ignis-perf.XXXXXX")
trap 'rm -rf "$work"' EXIT
bed_build_tstamp "$work"
console=${log:-$work/console.log}

bed_vm_json "$work/bc.json" /bed/vmlinux /bed/initramfs "$vcpus" "$mem" None "$BED_IGNIS_ARGS"

ignis_cmd="/bed/bin/$(basename "${IGNIS_BIN:-ignis}") --no-api --config-file /bed/bc.json --boot-timer"
# TESTBED §4: -cpu host / EPYC panic or hang the guest in L1; QEMU microvm
# has no i8042, so reboot=t (triple fault + -no-reboot) is what ends it.
qemu_cmd="\$BED_QEMU -L \$BED_QEMU_DATA -M microvm -accel kvm -cpu qemu64 -smp $vcpus -m $mem \
-nodefaults -no-user-config -nographic -no-reboot -serial stdio \
-kernel /bed/vmlinux -initrd /bed/initramfs -append 'console=ttyS0 reboot=t panic=1'"

# Runs alternate, and the order flips every round (ignis first in odd
# rounds, QEMU first in even ones), so neither VMM always runs on the heels
# of the other.
{
	echo ". /bed/case.sh"
	for i in $(seq 1 "$runs"); do
		if [ $((i % 2)) = 1 ]; then order="ignis qemu"; else order="qemu ignis"; fi
		for v in $order; do
			if [ "$v" = ignis ]; then
				[ "$have_ignis" = 1 ] && echo "bed_case ignis-$i 120 $ignis_cmd"
			else
				echo "bed_case qemu-$i 120 $qemu_cmd"
			fi
		done
	done
} >"$work/inner.sh"

bins=(--bin "$BED_TSTAMP")
[ "$have_ignis" = 1 ] && bins+=(--bin "$IGNIS_BIN")
bed_start=$(date +%s.%N)
bed_rc=0
"$IGNIS_SRC/scripts/bed/run.sh" --qemu-peer --script "$work/inner.sh" --log "$console" \
	--timeout $((120 + runs * 2 * 130)) "${bins[@]}" \
	--file "$BED_DIR/case.sh" --file "$work/bc.json" \
	--file "$GUEST_KERNEL:vmlinux" --file "$GUEST_INITRAMFS:initramfs" || bed_rc=$?
bed_wall=$(echo "$bed_start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')

# --- the table ---------------------------------------------------------------
failed=0
echo
echo "boot-compare: $runs run(s) each, $vcpus vCPU, $mem MiB, bed wall time ${bed_wall} s"
echo "guest kernel: $GUEST_KERNEL"
printf '%-4s %-6s %12s %12s %7s %20s  %s\n' run vmm "to-init ms" "to-exit ms" status "guest-boot-time ms" note
results=$work/results
: >"$results"
for i in $(seq 1 "$runs"); do
	for v in ignis qemu; do
		name=$v-$i
		if [ "$v" = ignis ] && [ "$have_ignis" = 0 ]; then
			printf '%-4s %-6s %12s %12s %7s %20s  %s\n' "$i" "$v" - - - - "skipped: $ignis_note"
			continue
		fi
		init_ms=$(bed_case_line_ms "$console" "$name" 'IGNIS_INIT_OK')
		exit_ms=$(bed_case_exit_ms "$console" "$name")
		status=$(bed_case_status "$console" "$name")
		gbt=""
		if [ "$v" = ignis ]; then
			gbt=$(bed_case_err "$console" "$name" | sed -n 's/.*Guest-boot-time = *\([0-9]*\) us.*/\1/p' | head -n1)
			[ -z "$gbt" ] || gbt=$(awk -v us="$gbt" 'BEGIN { printf "%.3f", us / 1000 }')
		fi
		note=""
		if [ -z "$status" ]; then
			note="FAILED: never finished (bed died?)"
		elif bed_case_timed_out "$console" "$name"; then
			note="FAILED: killed after 120 s"
		elif [ -z "$init_ms" ]; then
			note="FAILED: no IGNIS_INIT_OK (exit $status): $(bed_case_lines "$console" "$name" | grep -v '^TSTAMP' | tail -n1 | sed 's/^T+[0-9.]* [oe]| //' | cut -c1-80)"
		elif [ "$status" != 0 ]; then
			note="FAILED: exit status $status"
		fi
		if [ -n "$note" ]; then
			failed=1
		else
			echo "$v $init_ms $exit_ms" >>"$results"
		fi
		printf '%-4s %-6s %12s %12s %7s %20s  %s\n' "$i" "$v" "${init_ms:--}" "${exit_ms:--}" \
			"${status:--}" "${gbt:--}" "$note"
	done
done

# Medians over the successful runs, and the ratio of those.
awk '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{ n[$1]++; init[$1, n[$1]] = $2; ex[$1, n[$1]] = $3 }
END {
	for (v in n) {
		for (i = 1; i <= n[v]; i++) { a[i] = init[v, i]; b[i] = ex[v, i] }
		mi[v] = median(a, n[v]); me[v] = median(b, n[v])
		printf "median %-6s to-init %9.1f ms  to-exit %9.1f ms  (%d good runs)\n", v, mi[v], me[v], n[v]
	}
	if (n["ignis"] && n["qemu"])
		printf "ratio ignis/qemu: to-init %.2f  to-exit %.2f\n", mi["ignis"] / mi["qemu"], me["ignis"] / me["qemu"]
	else
		print "ratio ignis/qemu: n/a (one side has no good run)"
}' "$results"

if [ "$bed_rc" != 0 ]; then
	echo "boot-compare: bed session ended with status $bed_rc (see run.sh messages above)"
	exit "$bed_rc"
fi
[ "$failed" = 0 ] || { echo "boot-compare: some runs failed (see notes)"; exit 1; }
exit 0
