# shellcheck shell=sh
# The test-host (L1) side of tests/perf/clones.sh: busybox sh, cwd /bed,
# sourced by the generated /bed/.script after it set N, RESTORES, IGNIS,
# CTL, FNI. Prints "<TAG> FN_..." lines (tests/e2e/function-l1.sh) and CL_*
# lines; the host side makes the table.
#
#   snapshot  the function guest boots in L1's own namespace, serves 4
#             invocations, is snapshotted (ignis) and migrated to a file
#             (QEMU), as in warm-start.sh
#   clones    N network namespaces c1..cN, each with its own tap0
#             172.16.0.1/30 (the same name and guest address in every one:
#             Firecracker's clone network recipe); N ignis processes load
#             the one memory file there at the same time, each answers one
#             invocation (each tap0 has the MAC the snapshot's guest saw);
#             then every clone's Pss and Rss
#             (/proc/PID/smaps_rollup). The same with N QEMUs
#             (-incoming "exec:cat FILE"), each in its namespace.
#   restores  RESTORES times in c1, one after the other: a fresh ignis,
#             load, first 200, SIGKILL; the wall time of the whole loop.
# shellcheck source=tests/e2e/net-l1.sh
. /bed/net-l1.sh
# shellcheck source=tests/e2e/function-l1.sh
. /bed/function-l1.sh

echo never >/sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null
fn_net_up
fn_ig_cold snap hello 4
fn_ig_snapshot snap
fn_q_cold qsnap hello 4
fn_q_save qsnap

# The snapshot's guest has the host side's MAC in its ARP cache: every
# clone's tap0 must have it too, or the guest's answers go to a MAC no TAP
# has until that entry expires (~30 s, seen here).
TAP_MAC=$(cat /sys/class/net/tap0/address)
# cl_ns K: namespace cK with tap0 for the guest, and the guest's neighbour entry.
cl_ns() {
	$IP netns add "c$1" &&
		$IP netns exec "c$1" $IP link set lo up &&
		$IP netns exec "c$1" $IP tuntap add tap0 mode tap &&
		$IP netns exec "c$1" $IP link set tap0 address "$TAP_MAC" &&
		$IP netns exec "c$1" $IP addr add 172.16.0.1/30 dev tap0 &&
		$IP netns exec "c$1" $IP link set tap0 up &&
		$IP netns exec "c$1" $IP neigh replace 172.16.0.2 lladdr 06:00:ac:10:00:02 dev tap0 nud permanent ||
		echo "CL_STEP_FAILED namespace c$1"
}

# cl_invoke TAG K: one invocation of the guest in namespace cK.
cl_invoke() {
	$IP netns exec "c$2" "$FNI" -n 1 -t 120 </dev/null 2>&1 | sed "s/^/$1 /"
}

cl_mem() { # KIND K PID
	echo "CL_MEM $1 $2 $(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { print p, r }' "/proc/$3/smaps_rollup")"
}

for k in $(seq 1 "$N"); do cl_ns "$k"; done

# --- N ignis clones of one snapshot, at once ---------------------------------
pids=""
for k in $(seq 1 "$N"); do
	rm -f "/run/c$k.sock"
	$IP netns exec "c$k" "$IGNIS" --api-sock "/run/c$k.sock" </dev/null >"/bed/c$k.con" 2>&1 &
	pids="$pids $!"
	fn_wait_sock "/run/c$k.sock" || echo "CL_STEP_FAILED ignis c$k socket"
	$CTL --api-sock "/run/c$k.sock" --timeout 120 snapshot-load "$SNAP_STATE" "$SNAP_MEM" --resume ||
		echo "CL_STEP_FAILED ignis c$k load"
	cl_invoke "ig-c$k" "$k"
done
k=0
for p in $pids; do
	k=$((k + 1))
	cl_mem ignis "$k" "$p"
done
echo "CL_L1_MEM after ignis clones: $(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) kB available"
for p in $pids; do fn_kill "$p"; done

# --- N QEMU clones of its migration file --------------------------------------
pids=""
for k in $(seq 1 "$N"); do
	$IP netns exec "c$k" sh /bed/clone-qemu.sh "/bed/qc$k.con" "$Q_MIG" </dev/null >"/bed/qc$k.out" 2>&1 &
	pids="$pids $!"
	cl_invoke "q-c$k" "$k"
done
k=0
for p in $pids; do
	k=$((k + 1))
	cl_mem qemu "$k" "$p"
done
echo "CL_L1_MEM after QEMU clones: $(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) kB available"
for p in $pids; do fn_kill "$p"; done

# --- restores per second, one after the other, one core ----------------------
read -r t0 _ </proc/uptime
for r in $(seq 1 "$RESTORES"); do
	rm -f /run/r.sock
	$IP netns exec c1 "$IGNIS" --api-sock /run/r.sock </dev/null >/dev/null 2>&1 &
	p=$!
	fn_wait_sock /run/r.sock
	$CTL --api-sock /run/r.sock --timeout 120 snapshot-load "$SNAP_STATE" "$SNAP_MEM" --resume >/dev/null ||
		echo "CL_STEP_FAILED restore $r load"
	cl_invoke "rs-$r" 1
	fn_kill "$p"
done
read -r t1 _ </proc/uptime
echo "CL_RESTORES $RESTORES in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
echo "CL_DONE"
