# shellcheck shell=sh
# L1 side (busybox sh in the test host) shared by tests/e2e/net.sh and
# tests/perf/net-throughput.sh. Needs iproute2's ip staged with --bin (busybox
# sh runs its own `ip` applet for the bare name, and that has no tuntap).

IP=/bed/bin/ip
# Read-write FIFO: stdin for a busybox nc that must not see EOF.
mkfifo /tmp/hold

# net_tap NAME ADDR/PREFIX: a TAP owned by nobody yet, addressed and up.
net_tap() {
	$IP tuntap add "$1" mode tap && $IP addr add "$2" dev "$1" && $IP link set "$1" up ||
		echo "L1_TAP_FAILED $1"
}

# net_reachable ADDR TRIES: until ADDR answers a ping (1 s per try).
net_reachable() {
	_i=0
	while [ "$_i" -lt "$2" ]; do
		ping -c 1 -W 1 "$1" >/dev/null 2>&1 && return 0
		_i=$((_i + 1))
	done
	return 1
}

# net_release ADDR TRIES: connect to the guest's port 7000 (it waits there).
net_release() {
	_i=0
	while [ "$_i" -lt "$2" ]; do
		echo release | nc "$1" 7000 2>/dev/null && return 0
		sleep 1
		_i=$((_i + 1))
	done
	return 1
}

# net_cpu_ticks PID: user + system clock ticks of the process so far.
net_cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# net_retrans: TCP segments this host has retransmitted so far (RetransSegs).
net_retrans() {
	awk '/^Tcp:/ { if (++n == 2) print $13 }' /proc/net/snmp
}
