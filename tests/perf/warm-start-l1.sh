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
#          load's invocations, PUT /snapshot/working-set and then PUT
#          /snapshot/rewind --resume -> first 200 and 3 more, twice; then
#          loads with working_set_path (prefetch) and, after dropping the
#          page cache, File and prefetched File loads again; last the
#          Uffd load, lazy and with the handler prefetching the working set
#   QEMU   ... and its load again after dropping the page cache
# The snapshot and migration files live on ext4 on a brd RAM disk, so
# "echo 3 > drop_caches" really sends the next load to the disk.
#   QEMU   cold boot -> first 200 and 3 more, stop, migrate to a file,
#          quit; a fresh QEMU with -incoming defer, migrate-incoming of the
#          file -> first 200 and 3 more
# shellcheck source=tests/e2e/net-l1.sh
. /bed/net-l1.sh
# shellcheck source=tests/e2e/function-l1.sh
. /bed/function-l1.sh

fn_net_up
insmod /bed/brd.ko rd_nr=1 rd_size=393216 || echo "WS_STEP_FAILED insmod brd"
i=0
while [ ! -b /dev/ram0 ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /mnt/snap
/bed/bin/mke2fs -t ext4 -F -q /dev/ram0 && mount -t ext4 /dev/ram0 /mnt/snap ||
	echo "WS_STEP_FAILED ext4 on brd"
SNAP_STATE=/mnt/snap/fn.state
SNAP_MEM=/mnt/snap/fn.mem
Q_MIG=/mnt/snap/q.mig
WS_FILE=/mnt/snap/fn.ws
ws_drop() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}
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
	rm -f "$WS_FILE"
	$CTL --api-sock /run/fn.sock snapshot-working-set "$WS_FILE" ||
		echo "ig-file-$1 FN_STEP_FAILED working set"
	fn_ig_rewind "ig-rew-$1" hello 4
	fn_ig_rewind "ig-rew2-$1" hello 4
	fn_ig_stop "ig-file-$1"
	fn_ig_start "ig-ws-$1"
	fn_ig_load_ws "ig-ws-$1" hello 4 "$WS_FILE"
	fn_ig_stop "ig-ws-$1"
	ws_drop
	fn_ig_load "ig-filec-$1" hello 4 File
	fn_ig_stop "ig-filec-$1"
	ws_drop
	fn_ig_start "ig-wsc-$1"
	fn_ig_load_ws "ig-wsc-$1" hello 4 "$WS_FILE"
	fn_ig_stop "ig-wsc-$1"
	if [ -n "$UFFD_HANDLER" ]; then
		fn_ig_load "ig-uffd-$1" hello 4 Uffd
		fn_ig_stop "ig-uffd-$1"
		UFFD_WS=$WS_FILE
		fn_ig_load "ig-uffdws-$1" hello 4 Uffd
		fn_ig_stop "ig-uffdws-$1"
		UFFD_WS=
	fi
	[ $(($1 % 2)) = 1 ] && ws_prewarmed "$1"
	rm -f "$SNAP_STATE" "$SNAP_MEM" "$WS_FILE"
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
	ws_drop
	fn_q_load "q-loadc-$1" hello 4
	rm -f "$Q_MIG"
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
