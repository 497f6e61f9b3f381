#!/usr/bin/env bash
# e2e: virtio-net over TAP under a real Linux guest, in the nested bed (this
# host's PVM /dev/kvm cannot boot Linux; see scripts/bed/README.md). L1 has
# no NIC: its TAPs and their 172.16.N.0/30 addresses are private to it.
# One bed session; the guest boots from a read-only copy of the cached
# rootfs.ext4 holding tests/e2e/net-guest.sh as /net-test.sh, so each boot
# also has a drive in slot 0 and its interfaces after it.
#
#   missing  a TAP that does not exist: ignis refuses to start and says
#            "TAP device nosuchtap does not exist"; no TAP of that name was
#            created behind our back (TUNSETIFF would, as root)
#   net1     eth0 on tap0 (guest_mac set): ping guest->L1 and L1->guest; a
#            32 MiB random file L1->guest and back over TCP (busybox nc), the
#            same md5 on both ends as on the host; guest reboot -> exit 0
#   twonic   eth0 on tap1 and eth1 on tap2 (MTU 1400 on eth1): the guest
#            sees both MACs and the MTU as configured, pings both ways on
#            both interfaces
#   busy     while twonic runs, a second ignis on tap1: refused with
#            "TAP device tap1 is in use by another process"
#   tapdel   tap3 deleted under the running guest: ignis logs one error,
#            uses almost no CPU afterwards (no spinning on EPOLLERR), the
#            guest carries on (its pings fail) and reboots -> exit 0
#
# usage: net.sh IGNIS_BINARY [SOURCE_DIR]   (or env IGNIS_BIN, IGNIS_SRC;
#        IGNIS_GUEST_ROOTFS replaces scripts/guest/build-rootfs.sh's image)
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
e2e_setup "$@"
PATH=$PATH:/usr/sbin:/sbin

# shellcheck source=tests/e2e/net-lib.sh
. "$E2E_DIR/net-lib.sh"
net_stage_rootfs "$E2E_WORK"
net_find_ip

blob=$E2E_WORK/blob
head -c $((32 << 20)) /dev/urandom >"$blob"
blob_md5=$(md5sum <"$blob" | cut -d' ' -f1)

net_json "$E2E_WORK/missing.json" missing '{"iface_id": "eth0", "host_dev_name": "nosuchtap"}'
net_json "$E2E_WORK/net1.json" net1 \
	'{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}'
net_json "$E2E_WORK/twonic.json" twonic \
	'{"iface_id": "eth0", "host_dev_name": "tap1", "guest_mac": "06:00:ac:10:01:02"}' \
	'{"iface_id": "eth1", "host_dev_name": "tap2", "guest_mac": "06:00:ac:10:02:02", "mtu": 1400}'
net_json "$E2E_WORK/busy.json" twonic '{"iface_id": "eth0", "host_dev_name": "tap1"}'
net_json "$E2E_WORK/tapdel.json" tapdel '{"iface_id": "eth0", "host_dev_name": "tap3"}'

# Inner script: \$ is evaluated in L1, $IGNIS_NAME here.
cat >"$E2E_WORK/inner.sh" <<INNER
. /bed/case.sh
. /bed/net-l1.sh
IGNIS=/bed/bin/$IGNIS_NAME
net_tap tap0 172.16.0.1/30
net_tap tap1 172.16.1.1/30
net_tap tap2 172.16.2.1/30
net_tap tap3 172.16.3.1/30

bed_case missing 60 \$IGNIS --no-api --config-file /bed/missing.json
if \$IP link show nosuchtap >/dev/null 2>&1; then echo L1_MISSING_CREATED=yes; else echo L1_MISSING_CREATED=no; fi

# net1: L1 serves the blob on 5002, takes it back on 5001, pings the guest.
timeout 280 nc -l -p 5002 </bed/blob >/dev/null &
serve=\$!
timeout 280 nc -l -p 5001 0<>/tmp/hold >/tmp/up.bin &
take=\$!
(
	if net_reachable 172.16.0.2 120; then
		ping -c 3 172.16.0.2 >/tmp/ping1 2>&1
		echo "rc=\$?" >>/tmp/ping1
	else
		echo "rc=unreachable" >/tmp/ping1
	fi
	net_release 172.16.0.2 280
) &
helper=\$!
bed_case net1 300 \$IGNIS --no-api --config-file /bed/net1.json
kill \$serve \$take \$helper 2>/dev/null
sed 's/^/L1_PING1 /' /tmp/ping1
echo "L1_UP_MD5 \$(md5sum </tmp/up.bin) bytes=\$(wc -c </tmp/up.bin)"
rm -f /tmp/up.bin

# twonic, and busy while it runs.
(
	for a in 172.16.1.2 172.16.2.2; do
		if net_reachable \$a 120; then
			ping -c 2 \$a >/tmp/ping-\$a 2>&1
			echo "rc=\$?" >>/tmp/ping-\$a
		else
			echo "rc=unreachable" >/tmp/ping-\$a
		fi
	done
	bed_case busy 60 \$IGNIS --no-api --config-file /bed/busy.json
	net_release 172.16.1.2 60
) &
helper=\$!
bed_case twonic 200 \$IGNIS --no-api --config-file /bed/twonic.json
kill \$helper 2>/dev/null
for a in 172.16.1.2 172.16.2.2; do sed "s/^/L1_PING_\$a /" /tmp/ping-\$a; done

# tapdel: release the guest, delete its TAP, watch ignis's CPU time.
(
	if net_reachable 172.16.3.2 120 && net_release 172.16.3.2 60; then
		pid=\$(pidof $IGNIS_NAME)
		t0=\$(net_cpu_ticks \$pid)
		\$IP link del tap3 && echo L1_TAP3_DELETED
		sleep 3
		t1=\$(net_cpu_ticks \$pid)
		echo "L1_TAPDEL_CPU ticks=\$((t1 - t0)) seconds=3"
	fi
) &
helper=\$!
bed_case tapdel 200 \$IGNIS --no-api --config-file /bed/tapdel.json
kill \$helper 2>/dev/null
true
INNER

e2e_run_bed "$E2E_WORK/inner.sh" --timeout 900 --bin "$NET_IP" \
	--file "$E2E_DIR/net-l1.sh" --file "$NET_ROOTFS:rootfs.ext4" --file "$blob:blob"

# --- missing --------------------------------------------------------------
net_expect_refused missing "TAP device nosuchtap does not exist"
if grep -a -q '^L1_MISSING_CREATED=no' "$E2E_LOG"; then
	bed_pass "missing: no TAP named nosuchtap was created"
else
	bed_fail "missing: a TAP named nosuchtap exists afterwards (TUNSETIFF created it?)"
fi

# --- net1 -----------------------------------------------------------------
e2e_check_exit net1
net_expect_err net1 "network interface eth0: TAP tap0, MAC 06:00:ac:10:00:02, MTU 1500, virtio-mmio 0xc0002000 IRQ 6"
net_expect_out net1 "G_IF eth0 mac=06:00:ac:10:00:02" "guest eth0 has the configured MAC"
net_expect_out net1 "G_PING_OK" "guest pings L1"
if grep -a -q '^L1_PING1 rc=0' "$E2E_LOG"; then
	bed_pass "net1: L1 pings the guest ($(grep -a -m1 '^L1_PING1 round-trip' "$E2E_LOG" | cut -d' ' -f2-))"
else
	bed_fail "net1: L1 could not ping the guest: $(grep -a '^L1_PING1' "$E2E_LOG" | tail -n 3 | tr '\n' ' ')"
fi
rx_md5=$(bed_case_out "$E2E_LOG" net1 | sed -n 's/^G_RX_MD5 \([0-9a-f]*\).*/\1/p' | tail -n1)
up_md5=$(sed -n 's/^L1_UP_MD5 \([0-9a-f]*\).*/\1/p' "$E2E_LOG" | tail -n1)
if [ "$rx_md5" = "$blob_md5" ]; then
	bed_pass "net1: 32 MiB L1->guest arrived intact (md5 $rx_md5, $(net_span net1 G_RX_BEGIN G_RX_END))"
else
	bed_fail "net1: L1->guest md5 '${rx_md5:-none}', sent $blob_md5 ($(bed_case_out "$E2E_LOG" net1 | grep -a -m1 '^G_RX_END'))"
fi
if [ "$up_md5" = "$blob_md5" ]; then
	bed_pass "net1: 32 MiB guest->L1 arrived intact (md5 $up_md5, $(net_span net1 G_TX_BEGIN G_TX_END))"
else
	bed_fail "net1: guest->L1 md5 '${up_md5:-none}', expected $blob_md5 ($(grep -a -m1 '^L1_UP_MD5' "$E2E_LOG"))"
fi

# --- twonic and busy ------------------------------------------------------
e2e_check_exit twonic
net_expect_out twonic "G_IF eth0 mac=06:00:ac:10:01:02 mtu=1500" "eth0 has its MAC and the default MTU"
net_expect_out twonic "G_IF eth1 mac=06:00:ac:10:02:02 mtu=1400" "eth1 has its MAC and MTU 1400"
net_expect_out twonic "G_PING0_OK" "guest pings L1 over eth0"
net_expect_out twonic "G_PING1_OK" "guest pings L1 over eth1"
for a in 172.16.1.2 172.16.2.2; do
	if grep -a -q "^L1_PING_$a rc=0" "$E2E_LOG"; then
		bed_pass "twonic: L1 pings the guest at $a"
	else
		bed_fail "twonic: L1 could not ping the guest at $a"
	fi
done
net_expect_refused busy "TAP device tap1 is in use by another process"

# --- tapdel ---------------------------------------------------------------
e2e_check_exit tapdel
if grep -a -q '^L1_TAP3_DELETED' "$E2E_LOG"; then
	bed_pass "tapdel: L1 deleted tap3 under the running guest"
else
	bed_fail "tapdel: tap3 was never deleted (guest unreachable or release failed)"
fi
n=$(bed_case_err "$E2E_LOG" tapdel | grep -a -c 'TAP device tap3 was deleted' || true)
if [ "$n" = 1 ]; then
	bed_pass "tapdel: one error logged ($(bed_case_err "$E2E_LOG" tapdel | grep -a -m1 'TAP device tap3 was deleted'))"
else
	bed_fail "tapdel: $n 'TAP device tap3 was deleted' lines logged, expected exactly 1"
	e2e_case_tail "$E2E_LOG" tapdel
fi
net_expect_out tapdel "G_PING_AFTER_DELETE_FAILED" "guest traffic after the deletion goes nowhere, quietly"
net_expect_out tapdel "G_DONE" "the guest carried on after the deletion"
ticks=$(sed -n 's/^L1_TAPDEL_CPU ticks=\([0-9-]*\).*/\1/p' "$E2E_LOG" | tail -n1)
if [ -z "$ticks" ]; then
	bed_fail "tapdel: no CPU sample of ignis around the deletion"
elif [ "$ticks" -lt 150 ]; then
	bed_pass "tapdel: ignis used $ticks ticks (of 300) in the 3 s after the deletion: not spinning"
else
	bed_fail "tapdel: ignis used $ticks ticks of CPU in the 3 s after the deletion (spinning?)"
fi

bed_summary "e2e net"
