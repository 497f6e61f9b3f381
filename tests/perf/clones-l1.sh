# shellcheck shell=sh
# The test-host (L1) side of tests/perf/clones.sh: busybox sh, run by
# switch-root-l1.sh (the jailer needs a root pivot_root can leave) with N,
# RESTORES, IGNIS, CTL, FNI, JAILER exported. Prints "<TAG> FN_..." lines
# (tests/e2e/function-l1.sh) and CL_* lines; the host side makes the table.
#
#   snapshot  the function guest boots in L1's own namespace, serves 4
#             invocations, is snapshotted (ignis) and migrated to a file
#             (QEMU), as in warm-start.sh
#   clones    N network namespaces c1..cN, each with its own tap0
#             172.16.0.1/30 (the same name and guest address in every one:
#             Firecracker's clone network recipe). N jailed ignis processes
#             (ignis-jailer: own uid, cgroup v2 leaf, the namespace) load
#             the one memory file, hard-linked into every jail, at the same
#             time; each answers one invocation (each tap0 has the MAC the
#             snapshot's guest saw); then every clone's Pss and Rss
#             (/proc/PID/smaps_rollup). The same with N QEMUs
#             (-incoming "exec:cat FILE"), each in its namespace, not jailed.
#   restores  RESTORES times in c1, one after the other: a fresh ignis,
#             load, first 200, SIGKILL; the wall time of the whole loop.
#             Once plain, once jailed (the jail made and removed each time).
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
# One inode in every jail: the clones' unprivileged uids read it.
chmod 0444 "$SNAP_STATE" "$SNAP_MEM"

# The snapshot's guest has the host side's MAC in its ARP cache: every
# clone's tap0 must have it too, or the guest's answers go to a MAC no TAP
# has until that entry expires (~30 s, seen here).
TAP_MAC=$(cat /sys/class/net/tap0/address)
JAILS=/srv/jailer
mkdir -p /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup || echo "CL_STEP_FAILED mount cgroup2"
# cl_uid K: clone K's uid and gid (one tenant per clone).
cl_uid() { echo $((1000 + $1)); }

# cl_jail ID: the operator's part of a jail before the jailer runs: ignis's
# libraries, the snapshot and its root drive hard-linked in (one inode, so
# one copy in the page cache for every clone), at the paths the snapshot
# names.
cl_jail() {
	_root=$JAILS/ignis/$1/root
	mkdir -p "$_root/bed" || return 1
	while read -r _lib; do
		mkdir -p "$_root$(dirname "$_lib")" && ln "$(readlink -f "$_lib")" "$_root$_lib" || return 1
	done </bed/libs.txt
	ln "$SNAP_STATE" "$_root/fn.state" && ln "$SNAP_MEM" "$_root/fn.mem" &&
		ln /bed/fn-rootfs.ext4 "$_root/bed/fn-rootfs.ext4"
}

# cl_jailed ID K CONSOLE: ignis jailed as ID in namespace cK, as uid
# cl_uid K, in the background ($! is ignis: the jailer execs it).
cl_jailed() {
	_u=$(cl_uid "$2")
	cl_jail "$1" || echo "CL_STEP_FAILED jail $1"
	"$JAILER" --id "$1" --exec-file "$IGNIS" --uid "$_u" --gid "$_u" \
		--chroot-base-dir "$JAILS" --netns "/run/netns/c$2" --cgroup-version 2 \
		--cgroup pids.max=64 --cgroup memory.max=512M -- --api-sock /run/ignis.socket \
		</dev/null >"$3" 2>&1 &
}

# cl_unjail ID: what the operator removes after the clone ended.
cl_unjail() {
	rm -rf "${JAILS:?}/ignis/$1"
	rmdir "/sys/fs/cgroup/ignis/$1" 2>/dev/null
	return 0
}

# cl_ns K: namespace cK with tap0 for the guest, and the guest's neighbour entry.
cl_ns() {
	$IP netns add "c$1" &&
		$IP netns exec "c$1" $IP link set lo up &&
		$IP netns exec "c$1" $IP tuntap add tap0 mode tap user "$(cl_uid "$1")" &&
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

# --- N jailed ignis clones of one snapshot, at once ---------------------------
pids=""
for k in $(seq 1 "$N"); do
	cl_jailed "c$k" "$k" "/bed/c$k.con"
	pids="$pids $!"
	sock=$JAILS/ignis/c$k/root/run/ignis.socket
	fn_wait_sock "$sock" || echo "CL_STEP_FAILED ignis c$k socket"
	$CTL --api-sock "$sock" --timeout 120 snapshot-load /fn.state /fn.mem --resume ||
		echo "CL_STEP_FAILED ignis c$k load"
	cl_invoke "ig-c$k" "$k"
done
k=0
for p in $pids; do
	k=$((k + 1))
	cl_mem ignis "$k" "$p"
	echo "CL_JAIL c$k uid $(awk '/^Uid:/ { print $2 }' "/proc/$p/status") root $(readlink "/proc/$p/root") cgroup $(cat "/proc/$p/cgroup") charged $(cat "/sys/fs/cgroup/ignis/c$k/memory.current" 2>/dev/null)"
done
echo "CL_L1_MEM after ignis clones: $(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) kB available"
for p in $pids; do fn_kill "$p"; done
for k in $(seq 1 "$N"); do cl_unjail "c$k"; done

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
# cl_restore R JAILED: one restore in c1, plain or jailed (jail made and removed).
cl_restore() {
	if [ "$2" = 1 ]; then
		cl_jailed "rs$1" 1 /dev/null
		_p=$!
		_s=$JAILS/ignis/rs$1/root/run/ignis.socket
		_st=/fn.state _mem=/fn.mem
	else
		rm -f /run/r.sock
		$IP netns exec c1 "$IGNIS" --api-sock /run/r.sock </dev/null >/dev/null 2>&1 &
		_p=$!
		_s=/run/r.sock _st=$SNAP_STATE _mem=$SNAP_MEM
	fi
	fn_wait_sock "$_s"
	$CTL --api-sock "$_s" --timeout 120 snapshot-load "$_st" "$_mem" --resume >/dev/null ||
		echo "CL_STEP_FAILED restore $1 load"
	cl_invoke "rs$2-$1" 1
	fn_kill "$_p"
	[ "$2" = 0 ] || cl_unjail "rs$1"
}
for jailed in 0 1; do
	read -r t0 _ </proc/uptime
	for r in $(seq 1 "$RESTORES"); do cl_restore "$r" "$jailed"; done
	read -r t1 _ </proc/uptime
	echo "CL_RESTORES $RESTORES in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s jailed=$jailed"
done
echo "CL_DONE"
