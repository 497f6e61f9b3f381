#!/bin/sh
# Guest side of tests/e2e/net.sh and tests/perf/net-throughput.sh: runs
# inside the L2 guest (busybox sh), written into a copy of the rootfs as
# /net-test.sh and started from the cmdline (" -- sh /net-test.sh CASE").
# L1 (the test host) owns the TAPs at 172.16.N.1/30; the guest is .2.
# Every line meant for the host side starts with G_.
#
#   net1    eth0 172.16.0.2: ping L1; receive a file from L1 (nc, port 5002)
#           and print its md5; send it back (port 5001); wait for release
#   twonic  eth0 172.16.1.2 and eth1 172.16.2.2: MACs and MTUs, ping L1 on
#           both; wait for release (L1 connects to 172.16.1.2:7000)
#   tapdel  eth0 172.16.3.2: ping L1, wait for release, then (L1 deletes
#           the TAP meanwhile) ping again, which fails; carry on and exit
#   perf [MiB]  20 pings to L1; fetch MiB from L1's httpd (port 8080),
#           then serve as much with httpd for L1 to fetch; wait for release
#
# busybox nc quits as soon as its stdin ends, so every nc that only
# receives reads stdin from a FIFO held open read-write (<> never blocks,
# never reaches EOF).
set -u
mkfifo /tmp/hold

up() { # DEV ADDR/PREFIX
	ip addr add "$2" dev "$1" && ip link set "$1" up
}

# L1 connects to port 7000 once it has done what it does while we listen.
wait_release() {
	timeout 240 nc -l -p 7000 0<>/tmp/hold >/dev/null
	echo "G_RELEASED rc=$?"
}

# bulk L1_ADDR: receive from L1 into /tmp/blob, then send it back.
bulk() {
	echo G_RX_BEGIN
	timeout 240 nc "$1" 5002 0<>/tmp/hold >/tmp/blob
	echo "G_RX_END rc=$? bytes=$(wc -c </tmp/blob)"
	echo G_TX_BEGIN
	timeout 240 nc "$1" 5001 </tmp/blob
	echo "G_TX_END rc=$?"
}

case "${1:-}" in
net1)
	up eth0 172.16.0.2/30 || exit 1
	echo "G_IF eth0 mac=$(cat /sys/class/net/eth0/address) mtu=$(cat /sys/class/net/eth0/mtu)"
	ping -c 3 172.16.0.1 && echo G_PING_OK
	bulk 172.16.0.1
	echo "G_RX_MD5 $(md5sum </tmp/blob)"
	wait_release
	;;
twonic)
	up eth0 172.16.1.2/30 && up eth1 172.16.2.2/30 || exit 1
	for dev in eth0 eth1; do
		echo "G_IF $dev mac=$(cat /sys/class/net/$dev/address) mtu=$(cat /sys/class/net/$dev/mtu)"
	done
	ping -c 2 172.16.1.1 && echo G_PING0_OK
	ping -c 2 172.16.2.1 && echo G_PING1_OK
	wait_release
	;;
tapdel)
	up eth0 172.16.3.2/30 || exit 1
	ping -c 2 172.16.3.1 && echo G_PING_OK
	wait_release
	sleep 6
	if ping -c 3 -W 1 172.16.3.1; then
		echo G_PING_AFTER_DELETE_WORKED
	else
		echo G_PING_AFTER_DELETE_FAILED
	fi
	echo G_DONE
	;;
perf)
	# Bulk over HTTP: busybox httpd sends with large writes (nc's 1 KiB
	# writes would measure nc). The guest fetches $2 MiB from L1 into
	# /dev/null, then serves as much for L1 to fetch. Nothing measured
	# touches guest RAM for the first time: each first touch of a 4 KiB
	# page is a nested page fault, which in the bed costs more than the
	# network path being measured (the file to serve is made beforehand).
	mib=${2:-64}
	up eth0 172.16.0.2/30 || exit 1
	ping -c 2 172.16.0.1 >/dev/null
	echo "G_PING $(ping -c 20 -i 0.2 172.16.0.1 | tail -n 1)"
	echo G_RX_BEGIN
	wget -q -O /dev/null http://172.16.0.1:8080/blob
	echo "G_RX_END rc=$?"
	dd if=/dev/zero of=/tmp/blob bs=1M count="$mib" 2>/dev/null
	echo ready >/tmp/ready
	httpd -p 8080 -h /tmp && echo G_SERVING
	wait_release
	# TCP counters (RetransSegs among them), to tell a slow path from lost segments.
	grep '^Tcp:' /proc/net/snmp | sed 's/^/G_SNMP /'
	;;
*)
	echo "G_USAGE net-test.sh net1|twonic|tapdel|perf"
	exit 2
	;;
esac
