# shellcheck shell=sh
# The test-host (L1) side of tests/perf/warm-start.sh: busybox sh, cwd /bed,
# sourced by the generated /bed/.script after it set RUNS, MEM, HAVE_IGNIS,
# IGNIS, CTL, FNI, UFFD_HANDLER. Prints "<TAG> FN_..." lines (see
# tests/e2e/function-l1.sh) and the floor's lines; the host side makes the
# table. Nothing here judges a time.
#
# Per run, ignis and QEMU take turns (order flipped every round):
#   ignis  cold boot -> first 200, 3 more invocations (the warm-up), pause,
#          Full snapshot, SIGKILL; a fresh ignis loads it (File) -> first
#          200 and 3 more; again with the Uffd backend (ignis-uffd-handler);
#          again in an ignis started with --prewarm of the snapshot (that
#          one first in even runs, last in odd ones); after the File
#          load's invocations, PUT /snapshot/rewind --resume -> first 200
#          and 3 more, twice
#   QEMU   cold boot -> first 200 and 3 more, stop, migrate to a file,
#          quit; a fresh QEMU with -incoming defer, migrate-incoming of the
#          file -> first 200 and 3 more
# shellcheck source=tests/e2e/net-l1.sh
. /bed/net-l1.sh
# shellcheck source=tests/e2e/function-l1.sh
. /bed/function-l1.sh

fn_net_up
# As snapshot-bench.sh: no THP in L1, so both VMMs' guest RAM is backed
# alike (QEMU madvises its RAM for THP, ignis does not by default).
echo never >/sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null
echo "WS_L1 $(grep -c ^processor /proc/cpuinfo) cpu, $(awk '/^MemTotal/ { print $2 }' /proc/meminfo) kB, $($BED_QEMU --version | head -n1)"
/bed/bin/kvm-floor --label L1-kvm-amd --runs 5 "$MEM" 2>&1 | sed 's/^/floor /'

ws_ignis() { # RUN
	fn_ig_cold "ig-cold-$1" hello 4
	if [ "$fn_rc" != 0 ]; then
		fn_kill "$ig_pid"
		fn_ignis_log "ig-cold-$1" "/bed/ig-cold-$1.cmd"
		tail -n 5 "/bed/ig-cold-$1.cmd" | sed "s/^/ig-cold-$1 FN_CONSOLE /"
		return
	fi
	fn_ig_snapshot "ig-cold-$1"
	[ $(($1 % 2)) = 0 ] && ws_prewarmed "$1"
	fn_ig_load "ig-file-$1" hello 4 File
	fn_ig_rewind "ig-rew-$1" hello 4
	fn_ig_rewind "ig-rew2-$1" hello 4
	fn_ig_stop "ig-file-$1"
	if [ -n "$UFFD_HANDLER" ]; then
		fn_ig_load "ig-uffd-$1" hello 4 Uffd
		fn_ig_stop "ig-uffd-$1"
	fi
	[ $(($1 % 2)) = 1 ] && ws_prewarmed "$1"
	rm -f "$SNAP_STATE" "$SNAP_MEM"
}

ws_prewarmed() { # RUN
	fn_ig_prewarm "ig-pre-$1"
	fn_ig_load_into "ig-pre-$1" hello 4
	fn_ig_stop "ig-pre-$1"
}

ws_qemu() { # RUN
	fn_q_cold "q-cold-$1" hello 4
	if [ "$fn_rc" != 0 ]; then
		fn_q_quit "$q_pid"
		tail -n 5 "/bed/q-cold-$1.con" | sed "s/^/q-cold-$1 FN_CONSOLE /"
		return
	fi
	fn_q_save "q-cold-$1"
	fn_q_load "q-load-$1" hello 4
	rm -f /bed/q.mig
}

for i in $(seq 1 "$RUNS"); do
	if [ $((i % 2)) = 1 ]; then order="ignis qemu"; else order="qemu ignis"; fi
	for v in $order; do
		if [ "$v" = ignis ]; then
			[ "$HAVE_IGNIS" = 1 ] && ws_ignis "$i"
		else
			ws_qemu "$i"
		fi
	done
done
echo "WS_DONE"
