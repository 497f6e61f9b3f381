#!/usr/bin/env bash
# Benchmark: snapshot create and load under ignis against QEMU -M microvm's
# migrate-to-file, side by side in one session of the nested bed
# (scripts/bed/README.md), plus the bare-KVM floor (tests/perf/kvm-floor.c)
# on the same host (L1) and on this machine's /dev/kvm.
#
# Guests: the cached kernel and initramfs, 1 vCPU, each size of --sizes
# (default 128 and 1024 MiB). The guest first fills a tmpfs file with
# --fill MiB (default 48) from /dev/urandom, so the snapshots hold real
# data, then prints FILL_DONE and a TICK line every second.
#
# Measured, per size and run (ignis and QEMU alternate, N runs each):
#   ignis  Full create: round trip of PUT /snapshot/create (ignis-ctl, the
#          VM paused beforehand), plus ignis's own state/memory split;
#          sizes of the state and memory files (apparent and allocated);
#          load File: round trip of PUT /snapshot/load with resume_vm in a
#          fresh ignis, and ms from the load request to the first vCPU
#          exit (ignis's "snapshot load: first vCPU exit" log line);
#          load Uffd (ignis-uffd-handler next to ignis) and Diff create
#          (a VM with track_dirty_pages, 3 s after a Full create) only if
#          this ignis has them: a "not supported yet" answer skips them.
#   QEMU   stop, then QMP migrate to "exec:cat > FILE" (QEMU 7.2 has no
#          file: URI): ms from the MIGRATION "setup" event (the command
#          taken up; its answer comes after it) to "completed"; file size;
#          a fresh QEMU with -incoming defer, migrate-incoming from the
#          file: ms from its "setup" event to the RESUME event.
#          (-global migration.store-global-state=off, so the stopped
#          source still resumes on the destination, like resume_vm.)
#   floor  kvm-floor: open /dev/kvm, create VM, memslot of the guest's size,
#          vCPU, first exit; in L1 and, if usable, on this machine.
# After each load the guest must go on counting (first TICK after the load
# = last before + 1); the table shows it.
#
# L1 runs under TCG: absolute times are inflated and noisy; read the ratios
# within one session. A benchmark, not a test: nothing asserts on times.
#
# usage: snapshot-bench.sh [IGNIS_BINARY [SOURCE_DIR]] [--runs N]
#                          [--sizes "128 1024"] [--fill MiB] [--mem L1_MiB]
#                          [--log FILE]
#   (or env IGNIS_BIN, IGNIS_SRC). ignis-ctl must be next to the ignis
#   binary; without a usable ignis only QEMU and the floor run.
# Exit status: 0 if every step produced its numbers; 1 otherwise (the table
# still shows what worked); run.sh's codes if the bed itself broke.
set -euo pipefail

runs=3
sizes="128 1024"
fill=48
l1_mem=""
log=""
pos=()
while [ $# -gt 0 ]; do
	case "$1" in
	--runs | -n) runs=$2; shift 2 ;;
	--sizes) sizes=${2//,/ }; shift 2 ;;
	--fill) fill=$2; shift 2 ;;
	--mem) l1_mem=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	-*) echo "snapshot-bench: unknown option $1" >&2; exit 2 ;;
	*) pos+=("$1"); shift ;;
	esac
done
max_size=0
for n in "$runs" "$fill" $sizes ${l1_mem:+"$l1_mem"}; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "snapshot-bench: not a positive number: $n" >&2; exit 2; }
done
for s in $sizes; do
	[ "$s" -gt "$max_size" ] && max_size=$s
	[ "$fill" -lt $((s / 2)) ] || { echo "snapshot-bench: --fill $fill MiB does not fit a $s MiB guest's tmpfs" >&2; exit 2; }
done
# L1 holds one guest's touched RAM, one memory file of the guest's full size
# (ignis writes every page; L1's root is RAM) and QEMU's smaller file.
l1_mem=${l1_mem:-$((2048 + 2 * max_size))}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/bed/lib.sh
. "$here/../../scripts/bed/lib.sh"
bed_args ${pos[@]+"${pos[@]}"}

bed_peer_ignis snapshot-bench
ctl=""
uffd_handler=""
if [ "$have_ignis" = 1 ]; then
	ctl=$(dirname "$IGNIS_BIN")/ignis-ctl
	if [ ! -x "$ctl" ]; then
		have_ignis=0
		ignis_note="no ignis-ctl next to $IGNIS_BIN"
		echo "snapshot-bench: $ignis_note: QEMU runs only"
	fi
	if [ -x "$(dirname "$IGNIS_BIN")/ignis-uffd-handler" ]; then
		uffd_handler=$(dirname "$IGNIS_BIN")/ignis-uffd-handler
	fi
fi

bed_guest_artefacts "$IGNIS_SRC"
work=$(mktemp -d "${TMPDIR:-/tmp}/ignis-perf.XXXXXX")
keep_work=0
# shellcheck disable=SC2154 # keep_work is set below
trap 'if [ "$keep_work" = 1 ]; then echo "snapshot-bench: work dir kept: $work"; else rm -rf "$work"; fi' EXIT
bed_build_tstamp "$work"
gcc -static -O2 -std=c11 -Wall -Wextra -Werror -o "$work/kvm-floor" "$here/kvm-floor.c" ||
	bed_abort "could not build a static kvm-floor"
console=${log:-$work/console.log}

# --- the floor on this machine's own /dev/kvm --------------------------------
host_label=host-kvm
[ -d /sys/module/kvm_pvm ] && host_label=host-PVM
host_floor=$work/floor-host.txt
: >"$host_floor"
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	# shellcheck disable=SC2086 # one argument per size
	"$work/kvm-floor" --label "$host_label" --runs 5 $sizes >"$host_floor" 2>&1 ||
		echo "snapshot-bench: kvm-floor on this machine's /dev/kvm failed (see below)"
	cat "$host_floor"
else
	echo "snapshot-bench: no usable /dev/kvm here: the floor runs in L1 only"
fi

# --- stage the bed ------------------------------------------------------------
# \${m}_DONE: the kernel echoes its command line on the console, and the
# marker must not match there.
guest_cmd="head -c $((fill << 20)) /dev/urandom >/tmp/fill; m=FILL; echo \${m}_DONE; i=0; \
while :; do i=\$((i+1)); echo TICK \$i; sleep 1; done"
boot_args="$BED_IGNIS_ARGS -- $guest_cmd"
cat >"$work/boot-source.json" <<EOF
{"kernel_image_path": "/bed/vmlinux", "initrd_path": "/bed/initramfs", "boot_args": "$boot_args"}
EOF
# The same guest under QEMU: no i8042 (reboot=t), no virtio devices, so no
# virtio_mmio.device= parameters either (auto-kernel-cmdline=off).
cat >"$work/qemu.sh" <<EOF
# usage: qemu.sh MIB CONSOLE_FILE [more QEMU arguments]
m=\$1
con=\$2
shift 2
exec "\$BED_QEMU" -L "\$BED_QEMU_DATA" -M microvm,auto-kernel-cmdline=off -accel kvm -cpu qemu64 \\
	-smp 1 -m "\$m" -nodefaults -no-user-config -display none -no-reboot \\
	-serial "file:\$con" -qmp stdio -global migration.store-global-state=off \\
	-kernel /bed/vmlinux -initrd /bed/initramfs \\
	-append 'console=ttyS0 reboot=t panic=1 -- $guest_cmd' "\$@"
EOF
cat >"$work/inner.sh" <<EOF
RUNS=$runs
SIZES="$sizes"
HAVE_IGNIS=$have_ignis
IGNIS_NAME=$(basename "${IGNIS_BIN:-ignis}")
UFFD_HANDLER=${uffd_handler:+/bed/bin/ignis-uffd-handler}
. /bed/snapshot-bench-l1.sh
EOF

bins=(--bin "$BED_TSTAMP" --bin "$work/kvm-floor")
if [ "$have_ignis" = 1 ]; then
	bins+=(--bin "$IGNIS_BIN" --bin "$ctl")
	[ -z "$uffd_handler" ] || bins+=(--bin "$uffd_handler")
fi
nsizes=$(echo "$sizes" | wc -w)
echo "snapshot-bench: one bed session, L1 $l1_mem MiB, sizes $sizes MiB, $runs run(s) each, fill $fill MiB"
bed_start=$(date +%s.%N)
bed_rc=0
"$IGNIS_SRC/scripts/bed/run.sh" --qemu-peer --mem "$l1_mem" --script "$work/inner.sh" --log "$console" \
	--timeout $((300 + runs * nsizes * 400)) "${bins[@]}" \
	--file "$BED_DIR/case.sh" --file "$here/snapshot-bench-l1.sh" \
	--file "$work/boot-source.json" --file "$work/qemu.sh" \
	--file "$GUEST_KERNEL:vmlinux" --file "$GUEST_INITRAMFS:initramfs" >/dev/null || bed_rc=$?
bed_wall=$(echo "$bed_start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')

# --- reading the results --------------------------------------------------------
failed=0
results=$work/results
: >"$results"
rec() { echo "$1 $2 $3" >>"$results"; } # METRIC SIZE VALUE

# ms of a case that exited 0; empty otherwise.
ok_ms() {
	[ "$(bed_case_status "$console" "$1")" = 0 ] && bed_case_exit_ms "$console" "$1"
	return 0
}
# ms between two lines of a case (ERE patterns); empty if either is missing.
span_ms() {
	local a b
	a=$(bed_case_line_ms "$console" "$1" "$2")
	b=$(bed_case_line_ms "$console" "$1" "$3")
	[ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", b - a }'
	return 0
}
sblog() { grep -a "^SB_LOG $1 " "$console" | cut -d' ' -f3- || true; }
create_line() { # TAG -> "state_bytes state_ms mem_bytes mem_ms"
	sblog "$1" | sed -n 's/.*snapshot create: state \([0-9-]*\) bytes in \([0-9.]*\) ms, memory \([0-9-]*\) bytes in \([0-9.]*\) ms.*/\1 \2 \3 \4/p' | tail -n1
}
first_exit() { # TAG -> "total_ms restore_ms exit" (exit: KVM reason@port/address, if logged)
	sblog "$1" | sed -n 's/.*first vCPU exit \([0-9.]*\) ms after the load request (restore of state, memory and devices \([0-9.]*\) ms.*/\1 \2/p' | head -n1 |
		tr '\n' ' '
	sblog "$1" | sed -n 's/.*first vCPU exit .*KVM exit reason \([0-9]*\) at \(0x[0-9a-f]*\).*/\1@\2/p' | head -n1
}
sbval() { grep -a "^$1 $2 " "$console" | tail -n1 | cut -d' ' -f3- | tr -d '\r' || true; }
ticks_note() { # "before first last" -> note
	# shellcheck disable=SC2086 # three words
	set -- $1
	if [ $# -lt 3 ]; then
		echo "guest: NO TICK after the load"
	elif [ "$1" != "?" ] && [ "$2" -eq $(($1 + 1)) ]; then
		echo "guest continues ($1 -> $2..$3)"
	else
		echo "guest: TICK $1 before, $2..$3 after (not continuing)"
	fi
}
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

echo
echo "snapshot-bench: bed wall time ${bed_wall} s, L1 $l1_mem MiB; $(grep -a '^SB_L1 ' "$console" | head -n1 | cut -d' ' -f2- | tr -d '\r')"
echo "guest kernel: $GUEST_KERNEL, fill $fill MiB"
diff_note="Diff: supported"
grep -aq '^SB_UNSUPPORTED Diff' "$console" && diff_note="Diff: not supported by this ignis"
uffd_note="Uffd: supported"
if [ -z "$uffd_handler" ]; then
	uffd_note="Uffd: not measured (no ignis-uffd-handler next to ignis)"
fi
grep -aq '^SB_UNSUPPORTED Uffd' "$console" && uffd_note="Uffd: not supported by this ignis"
if [ "$have_ignis" = 1 ]; then
	echo "$diff_note"
	echo "$uffd_note"
else
	echo "ignis: skipped: $ignis_note"
fi
grep -a '^SB_FAIL\|^SB_CONSOLE' "$console" | tr -d '\r' | sed 's/^/snapshot-bench: /' && failed=1

for s in $sizes; do
	for i in $(seq 1 "$runs"); do
		if [ "$have_ignis" = 1 ]; then
			t=ig-$s-$i
			line="ignis $s MiB run $i:"
			rt=$(ok_ms "$t-create")
			read -r sb sms _ mms <<<"$(create_line "$t")" || true
			read -r st_b mem_b st_du mem_du <<<"$(sbval SB_SIZE "$t")" || true
			if [ -n "$rt" ] && [ -n "${mem_b:-}" ]; then
				rec ig_create "$s" "$rt"
				[ -n "${sms:-}" ] && rec ig_create_state "$s" "$sms" && rec ig_create_mem "$s" "$mms"
				rec ig_bytes "$s" $((st_b + mem_b))
				rec ig_du "$s" $(((st_du + mem_du) * 1024))
				line+=" create ${rt} ms (state ${sms:-?} ms, memory ${mms:-?} ms), files $(mib $((st_b + mem_b))) MiB"
				line+=" (state ${sb:-$st_b} B), allocated $(mib $(((st_du + mem_du) * 1024))) MiB;"
			else
				line+=" create FAILED;"
				failed=1
			fi
			rt=$(ok_ms "$t-loadf")
			read -r fe rs fx <<<"$(first_exit "$t-loadf")" || true
			if [ -n "$rt" ] && [ -n "${fe:-}" ]; then
				rec ig_loadf "$s" "$rt"
				rec ig_loadf_first "$s" "$fe"
				rec ig_loadf_restore "$s" "$rs"
				line+=" load File ${rt} ms, first vCPU exit ${fe} ms (restore ${rs} ms, exit ${fx:-?}), $(ticks_note "$(sbval SB_TICKS "$t-loadf")");"
			else
				line+=" load File FAILED (round trip ${rt:-?} ms, no first-exit line?);"
				failed=1
			fi
			if [ "$uffd_note" = "Uffd: supported" ]; then
				rt=$(ok_ms "$t-loadu")
				read -r fe rs fx <<<"$(first_exit "$t-loadu")" || true
				if [ -n "$rt" ] && [ -n "${fe:-}" ]; then
					rec ig_loadu "$s" "$rt"
					rec ig_loadu_first "$s" "$fe"
					line+=" load Uffd ${rt} ms, first vCPU exit ${fe} ms (restore ${rs} ms, exit ${fx:-?}), $(ticks_note "$(sbval SB_TICKS "$t-loadu")");"
				else
					line+=" load Uffd FAILED;"
					failed=1
				fi
			fi
			if [ "$diff_note" = "Diff: supported" ]; then
				rt=$(ok_ms "$t-diff-create")
				full=$(ok_ms "$t-diff-full")
				read -r st_b mem_b st_du mem_du <<<"$(sbval SB_SIZE "$t-diff")" || true
				if [ -n "$rt" ] && [ -n "${mem_b:-}" ]; then
					rec ig_diff "$s" "$rt"
					[ -n "$full" ] && rec ig_diff_full "$s" "$full"
					rec ig_diff_du "$s" $(((st_du + mem_du) * 1024))
					line+=" Diff ${rt} ms (Full with dirty tracking ${full:-?} ms), allocated $(mib $(((st_du + mem_du) * 1024))) MiB"
				else
					line+=" Diff FAILED"
					failed=1
				fi
			fi
			echo "$line"
			case $line in *"not continuing"* | *"NO TICK"*) failed=1 ;; esac
		fi
		t=q-$s-$i
		line="qemu  $s MiB run $i:"
		sv=$(span_ms "$t-save" '"status": ?"setup"' '"status": ?"completed"')
		read -r qb qdu <<<"$(sbval SB_QSIZE "$t")" || true
		if [ -n "$sv" ] && [ -n "${qb:-}" ]; then
			rec q_save "$s" "$sv"
			rec q_bytes "$s" "$qb"
			rec q_du "$s" $((qdu * 1024))
			line+=" migrate to file ${sv} ms, file $(mib "$qb") MiB, allocated $(mib $((qdu * 1024))) MiB;"
		else
			line+=" migrate to file FAILED;"
			failed=1
		fi
		ld=$(span_ms "$t-load" '"status": ?"setup"' '"event": ?"RESUME"')
		if [ -n "$ld" ]; then
			rec q_load "$s" "$ld"
			line+=" migrate-incoming to RESUME ${ld} ms, $(ticks_note "$(sbval SB_TICKS "$t-load")")"
		else
			line+=" migrate-incoming FAILED"
			failed=1
		fi
		echo "$line"
		case $line in *"not continuing"* | *"NO TICK"*) failed=1 ;; esac
	done
done

# The floor: kvm-floor's median lines ("kvm-floor LABEL N MiB median: ... total T us").
floor_l1=$(bed_case_out "$console" floor-l1)
printf '%s\n' "$floor_l1" | grep -a ' run \| median:' | sed 's/^/  /' || true
for src in l1 host; do
	if [ "$src" = l1 ]; then text=$floor_l1; else text=$(cat "$host_floor"); fi
	printf '%s\n' "$text" | sed -n 's/^kvm-floor [^ ]* \([0-9]*\) MiB median:.* total \([0-9.]*\) us$/\1 \2/p' |
		while read -r s us; do rec "floor_$src" "$s" "$(awk -v u="$us" 'BEGIN { printf "%.3f", u / 1000 }')"; done
done
[ -n "$floor_l1" ] || { echo "snapshot-bench: no kvm-floor output from L1"; failed=1; }

echo
echo "medians over the good runs (ms unless said; ratio = ignis / QEMU):"
awk -v sizes="$sizes" -v host_label="$host_label" '
function median(key,   i, j, t, n, a) {
	n = cnt[key]
	if (!n) return ""
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function row(label, ig, q, scale,   r, si, sq) {
	si = ig == "" ? "-" : sprintf("%.1f", ig / scale)
	sq = q == "" ? "-" : sprintf("%.1f", q / scale)
	r = (ig != "" && q != "" && q > 0) ? sprintf("%.2f", ig / q) : "-"
	printf "| %-50s | %10s | %10s | %6s |\n", label, si, sq, r
}
{ k = $1 SUBSEP $2; cnt[k]++; val[k, cnt[k]] = $3 }
END {
	n = split(sizes, sz, " ")
	for (x = 1; x <= n; x++) {
		s = sz[x]
		printf "\n%s MiB guest\n", s
		printf "| %-50s | %10s | %10s | %6s |\n", "", "ignis", "QEMU", "ratio"
		printf "|%s|%s|%s|%s|\n", "----------------------------------------------------", "------------", "------------", "--------"
		row("Full create (ignis API round trip; QEMU migrate)", median("ig_create" SUBSEP s), median("q_save" SUBSEP s), 1)
		row("  ignis: state file part", median("ig_create_state" SUBSEP s), "", 1)
		row("  ignis: memory file part", median("ig_create_mem" SUBSEP s), "", 1)
		row("snapshot size, MiB (apparent)", median("ig_bytes" SUBSEP s), median("q_bytes" SUBSEP s), 1048576)
		row("snapshot size, MiB (allocated, du)", median("ig_du" SUBSEP s), median("q_du" SUBSEP s), 1048576)
		row("load File: API round trip / to RESUME", median("ig_loadf" SUBSEP s), median("q_load" SUBSEP s), 1)
		row("load File: request to first vCPU exit", median("ig_loadf_first" SUBSEP s), "", 1)
		row("  of which restore before vCPU start", median("ig_loadf_restore" SUBSEP s), "", 1)
		if (cnt["ig_loadu" SUBSEP s]) {
			row("load Uffd: API round trip / QEMU to RESUME", median("ig_loadu" SUBSEP s), median("q_load" SUBSEP s), 1)
			row("load Uffd: request to first vCPU exit", median("ig_loadu_first" SUBSEP s), "", 1)
		}
		if (cnt["ig_diff" SUBSEP s]) {
			row("Diff create after 3 s (API round trip)", median("ig_diff" SUBSEP s), "", 1)
			row("  Full create with dirty tracking on", median("ig_diff_full" SUBSEP s), "", 1)
			row("  Diff snapshot, MiB allocated", median("ig_diff_du" SUBSEP s), "", 1048576)
		}
		fl = median("floor_l1" SUBSEP s); fh = median("floor_host" SUBSEP s)
		row("bare-KVM floor in L1 (kvm-floor total)", fl, "", 1)
		if (fh != "") row("bare-KVM floor on " host_label " (not the bed)", fh, "", 1)
		fe = median("ig_loadf_first" SUBSEP s)
		if (fe != "" && fl != "" && fl > 0)
			printf "ignis load File (request to first exit) = %.1f x the L1 floor\n", fe / fl
	}
}' "$results"

[ "$failed" = 0 ] && [ "$bed_rc" = 0 ] || [ -n "$log" ] || keep_work=1
if [ "$bed_rc" != 0 ]; then
	echo "snapshot-bench: bed session ended with status $bed_rc (see run.sh messages above; console log: $console)"
	exit "$bed_rc"
fi
[ "$failed" = 0 ] || { echo "snapshot-bench: some steps failed (see notes)"; exit 1; }
exit 0
