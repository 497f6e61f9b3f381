#!/usr/bin/env bash
# e2e: snapshot and restore of a Linux guest with a root disk and a network
# interface, in the nested bed. Inside the test host (L1), ignis boots a
# copy of the cached rootfs.ext4 read-write (cache Writeback, io_engine
# Async) with eth0 on tap0, 1 vCPU, 128 MiB; the guest (snapshot-guest.sh)
# writes /before.bin to its root disk, listens on TCP port 7000 and counts.
# Pause, snapshot-create, SIGKILL; tap0 is deleted and tap1 made with the same
# address; a fresh ignis loads the snapshot with network_overrides eth0->tap1
# and resume_vm. Then:
#   - GET /vm/config shows the root drive as configured and eth0 on tap1;
#   - the counter goes on from the last value printed before the snapshot;
#   - L1 pings the guest and connects to its port 7000 (a socket that was
#     listening when the snapshot was taken); the guest pings L1;
#   - the guest re-reads /before.bin from the disk (page cache dropped): same
#     md5; it writes /after.bin, syncs, remounts / read-only and reboots:
#     the restored ignis exits 0;
#   - in L1, e2fsck -fn of the image is clean and debugfs dumps both files
#     with the guest's md5s.
#
# usage: snapshot-devices.sh IGNIS_BINARY [SOURCE_DIR]   (or env IGNIS_BIN, IGNIS_SRC)
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
e2e_setup "$@"
PATH=$PATH:/usr/sbin:/sbin
# shellcheck source=tests/e2e/net-lib.sh
. "$E2E_DIR/net-lib.sh"
net_find_ip
for tool in debugfs e2fsck; do
	command -v $tool >/dev/null || bed_abort "$tool is needed (Debian package e2fsprogs)"
done
ctl=$(dirname "$IGNIS_BIN")/ignis-ctl
[ -x "$ctl" ] || bed_abort "ignis-ctl not found next to $IGNIS_BIN (build the ignis-ctl target)"

src=$("$IGNIS_SRC/scripts/guest/build-rootfs.sh" | sed -n 's/^rootfs=//p' | tail -n1) ||
	bed_abort "scripts/guest/build-rootfs.sh failed"
rootfs=$E2E_WORK/rootfs.ext4
cp "$src" "$rootfs"
debugfs -w -R "write $E2E_DIR/snapshot-guest.sh /snap-test.sh" "$rootfs" >/dev/null 2>&1 ||
	bed_abort "debugfs could not write /snap-test.sh into the rootfs copy"

MAC=06:00:ac:10:00:02
cat >"$E2E_WORK/inner.sh" <<INNER
set -u
. /bed/case.sh
. /bed/net-l1.sh
IGNIS=/bed/bin/$IGNIS_NAME
STEP_TAG=SNAP
. /bed/snapshot-l1.sh
E2FSCK=/usr/sbin/e2fsck
DEBUGFS=/usr/sbin/debugfs
has() { grep -a -q "^\$2" "\$1"; }
ctl1="/bed/bin/ignis-ctl --api-sock /run/a.sock --timeout 60"
ctl2="/bed/bin/ignis-ctl --api-sock /run/b.sock --timeout 60"

net_tap tap0 172.16.0.1/30
cp /bed/rootfs.ext4 /tmp/root.ext4
start_ignis /run/a.sock /bed/console1.txt
step \$ctl1 raw PUT /boot-source '{"kernel_image_path": "/bed/vmlinux", "boot_args": "$BED_IGNIS_ARGS -- sh /snap-test.sh"}'
step \$ctl1 raw PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}'
step \$ctl1 raw PUT /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/tmp/root.ext4", "is_root_device": true, "is_read_only": false, "cache_type": "Writeback", "io_engine": "Async"}'
step \$ctl1 raw PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "$MAC"}'
step \$ctl1 start
end=\$((\$(date +%s) + 120))
until has /bed/console1.txt G_READY && [ "\$(last /bed/console1.txt)" -ge 3 ] 2>/dev/null; do
	[ \$(date +%s) -ge \$end ] && break
	sleep 0.1
done
net_reachable 172.16.0.2 30 && echo SNAP_PING_BEFORE_OK
step \$ctl1 pause
sleep 0.5
echo "SNAP_LAST_BEFORE \$(last_complete /bed/console1.txt)"
step \$ctl1 snapshot-create /bed/vm.state /bed/vm.mem
kill -9 \$pid
wait \$pid 2>/dev/null
sed 's/^/SNAP_CONSOLE1 /' /bed/console1.txt | grep -a 'G_' | head -n 5

\$IP link del tap0
net_tap tap1 172.16.0.1/30
start_ignis /run/b.sock /bed/console2.txt
step \$ctl2 raw PUT /snapshot/load '{"snapshot_path": "/bed/vm.state", "mem_backend": {"backend_type": "File", "backend_path": "/bed/vm.mem"}, "resume_vm": true, "network_overrides": [{"iface_id": "eth0", "host_dev_name": "tap1"}]}'
echo "SNAP_CONFIG \$(\$ctl2 raw GET /vm/config | tr -d ' \n')"
net_reachable 172.16.0.2 60 && echo SNAP_PING_AFTER_OK
net_release 172.16.0.2 60 && echo SNAP_RELEASED
# Wall clock, not iterations: a stall that starves L1 must still end here,
# with where each ignis thread was (BED_PROC lines), well before the bed's limit.
if bed_wait_exit \$pid 150; then
	wait \$pid
	echo "SNAP_B_EXIT \$?"
else
	echo "SNAP_B_EXIT still-running"
	tail -n 20 /bed/console2.txt | sed 's/^/SNAP_STALL_CONSOLE2 /'
	tail -n 20 /bed/ignis.err | sed 's/^/SNAP_STALL_ERR /'
	kill -9 \$pid
	wait \$pid 2>/dev/null
fi
echo "SNAP_FIRST_AFTER \$(first_joined /bed/console1.txt /bed/console2.txt)"
echo "SNAP_LAST_AFTER \$(last /bed/console2.txt)"
sed 's/^/SNAP_CONSOLE2 /' /bed/console2.txt | grep -a 'G_' | head -n 10
\$E2FSCK -fn /tmp/root.ext4 >/tmp/fsck.out 2>&1
echo "SNAP_FSCK \$?"
sed 's/^/SNAP_FSCK_OUT /' /tmp/fsck.out | tail -n 5
for f in before after; do
	\$DEBUGFS -R "dump /\$f.bin /tmp/\$f.out" /tmp/root.ext4 >/dev/null 2>&1
	echo "SNAP_HOST_MD5 \$f \$(md5sum </tmp/\$f.out | cut -d' ' -f1)"
done
sed 's/^/SNAP_ERR /' /bed/ignis.err | tail -n 15
INNER

# 1 vCPU: this test is about devices, not SMP. In the nested bed,
# stalls that freeze L1 outright come mostly with 2-vCPU guests (no heartbeat, no soft
# lockup: TCG looping; scripts/bed/README.md); e2e.snapshot keeps the
# 2-vCPU restore covered.
e2e_run_bed "$E2E_WORK/inner.sh" --timeout 240 --bin "$ctl" --bin "$NET_IP" \
	--bin "$(command -v e2fsck)" --bin "$(command -v debugfs)" \
	--file "$E2E_DIR/net-l1.sh" --file "$E2E_DIR/snapshot-l1.sh" --file "$rootfs:rootfs.ext4"

expect() { # label got want
	if [ "$2" = "$3" ]; then bed_pass "$1"; else bed_fail "$1: got '${2}', expected '${3}'"; fi
}

if grep -aq '^SNAP_STEP_FAILED' "$E2E_LOG"; then
	bed_fail "an API step failed: $(grep -a '^SNAP_STEP_FAILED' "$E2E_LOG" | head -3 | tr '\n' ' ')"
	grep -a '^SNAP_ERR' "$E2E_LOG" | sed 's/^/  /'
else
	bed_pass "boot with a root disk and a TAP, pause, snapshot-create, SIGKILL, load with a network override"
fi
expect "L1 pinged the guest before the snapshot" "$(grep -ac '^SNAP_PING_BEFORE_OK' "$E2E_LOG")" 1
config=$(e2e_value SNAP_CONFIG)
case "$config" in
*'"host_dev_name":"tap1"'*'"guest_mac":"'$MAC'"'* | *'"guest_mac":"'$MAC'"'*'"host_dev_name":"tap1"'*)
	bed_pass "GET /vm/config: eth0 on the override tap1 with its MAC" ;;
*) bed_fail "GET /vm/config after load has no eth0 on tap1: $config" ;;
esac
case "$config" in
*'"path_on_host":"/tmp/root.ext4"'*) bed_pass "GET /vm/config: the root drive's saved file" ;;
*) bed_fail "GET /vm/config after load has no root drive /tmp/root.ext4: $config" ;;
esac
before=$(e2e_value SNAP_LAST_BEFORE)
first=$(e2e_value SNAP_FIRST_AFTER)
after=$(e2e_value SNAP_LAST_AFTER)
if [ -n "${before:-}" ] && [ -n "${first:-}" ] && [ "$first" -eq $((before + 1)) ]; then
	bed_pass "the restored guest continues the count (last before $before, first after $first, last $after)"
else
	bed_fail "count does not continue (last before ${before:-?}, first after ${first:-?})"
fi
expect "L1 pings the restored guest through tap1" "$(grep -ac '^SNAP_PING_AFTER_OK' "$E2E_LOG")" 1
expect "L1 connects to the guest's port 7000 (listening since before the snapshot)" \
	"$(grep -ac '^SNAP_RELEASED' "$E2E_LOG")" 1
expect "the restored guest pings L1" "$(grep -ac '^SNAP_CONSOLE2 G_PING_AFTER_OK' "$E2E_LOG")" 1
md5_before=$(e2e_value "SNAP_CONSOLE1 G_BEFORE_MD5")
md5_reread=$(e2e_value "SNAP_CONSOLE2 G_REREAD_MD5")
md5_after=$(e2e_value "SNAP_CONSOLE2 G_AFTER_MD5")
[ -n "$md5_before" ] || bed_fail "the guest never printed G_BEFORE_MD5"
expect "the restored guest re-reads /before.bin from its disk (cache dropped)" "$md5_reread" "$md5_before"
expect "the guest remounted / read-only after writing /after.bin" "$(e2e_value "SNAP_CONSOLE2 G_REMOUNT_RO")" "rc=0"
expect "the restored ignis exits 0 when the guest reboots" "$(e2e_value SNAP_B_EXIT)" 0
expect "e2fsck -fn of the image after the restored run" "$(e2e_value SNAP_FSCK)" 0
expect "/before.bin on the image has the guest's md5" "$(e2e_value 'SNAP_HOST_MD5 before')" "$md5_before"
if [ -n "$md5_after" ]; then
	expect "/after.bin (written after the restore) on the image has the guest's md5" \
		"$(e2e_value 'SNAP_HOST_MD5 after')" "$md5_after"
else
	bed_fail "the restored guest never printed G_AFTER_MD5"
fi
if [ "$bed_failures" -gt 0 ]; then
	grep -a '^SNAP_CONSOLE\|^SNAP_ERR\|^SNAP_FSCK_OUT\|^SNAP_STALL\|^BED_PROC' "$E2E_LOG" | sed 's/^/  /'
fi

bed_summary "e2e snapshot-devices"
