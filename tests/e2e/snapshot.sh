#!/usr/bin/env bash
# e2e: snapshot and restore of a Linux guest, in the nested bed. Inside the
# test host, ignis (API, ignis-ctl) boots the busybox initramfs guest with 2
# vCPUs running a loop that prints `CNT <n>` every 0.2 s; then pause,
# snapshot-create (Full), SIGKILL of that ignis, and snapshot-load --resume
# (File backend) in a fresh ignis. The restored console must go on from the
# last value printed (the first CNT after restore is last+1), keep counting,
# and the guest must still answer (its shell keeps running the loop).
#
# usage: snapshot.sh IGNIS_BINARY [SOURCE_DIR]   (or env IGNIS_BIN, IGNIS_SRC)
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
e2e_setup "$@"

ctl=$(dirname "$IGNIS_BIN")/ignis-ctl
[ -x "$ctl" ] || bed_abort "ignis-ctl not found next to $IGNIS_BIN (build the ignis-ctl target)"

cat >"$E2E_WORK/inner.sh" <<INNER
set -u
IGNIS=/bed/bin/$IGNIS_NAME
STEP_TAG=SNAP
. /bed/snapshot-l1.sh
now_ms() { awk '{ printf "%d", \$1 * 1000 }' /proc/uptime 2>/dev/null || echo 0; }
ctl1="/bed/bin/ignis-ctl --api-sock /run/a.sock --timeout 60"
ctl2="/bed/bin/ignis-ctl --api-sock /run/b.sock --timeout 60"

start_ignis /run/a.sock /bed/console1.txt
step \$ctl1 raw PUT /boot-source '{"kernel_image_path": "/bed/vmlinux", "initrd_path": "/bed/initramfs", "boot_args": "$BED_IGNIS_ARGS -- i=0; while :; do i=\$((i+1)); echo CNT \$i; sleep 0.2; done"}'
step \$ctl1 raw PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 128}'
step \$ctl1 start
i=0
while [ "\$(last /bed/console1.txt)" -lt 5 ] 2>/dev/null || [ -z "\$(last /bed/console1.txt)" ]; do
	[ \$i -ge 600 ] && break
	sleep 0.1; i=\$((i + 1))
done
step \$ctl1 pause
sleep 0.5
echo "SNAP_LAST_BEFORE \$(last_complete /bed/console1.txt)"
t0=\$(now_ms)
step \$ctl1 snapshot-create /bed/vm.state /bed/vm.mem
t1=\$(now_ms)
echo "SNAP_CREATE_MS \$((t1 - t0))"
echo "SNAP_MEM_BYTES \$(stat -c %s /bed/vm.mem 2>/dev/null)"
kill -9 \$pid
wait \$pid 2>/dev/null

start_ignis /run/b.sock /bed/console2.txt
t0=\$(now_ms)
step \$ctl2 snapshot-load /bed/vm.state /bed/vm.mem --resume
t1=\$(now_ms)
echo "SNAP_LOAD_MS \$((t1 - t0))"
echo "SNAP_INFO \$(\$ctl2 info | tr -d '\n ')"
sleep 3
echo "SNAP_FIRST_AFTER \$(first_joined /bed/console1.txt /bed/console2.txt)"
echo "SNAP_LAST_AFTER \$(last /bed/console2.txt)"
kill -9 \$pid
wait \$pid 2>/dev/null
sed 's/^/SNAP_CONSOLE2 /' /bed/console2.txt | head -n 5
sed 's/^/SNAP_ERR /' /bed/ignis.err | tail -n 12
INNER

# A stall (see scripts/bed/README.md) should cost 4 minutes, not 10.
e2e_run_bed "$E2E_WORK/inner.sh" --bin "$ctl" --timeout 240 --file "$E2E_DIR/snapshot-l1.sh"


if grep -aq '^SNAP_STEP_FAILED' "$E2E_LOG"; then
	bed_fail "an API step failed: $(grep -a '^SNAP_STEP_FAILED' "$E2E_LOG" | head -3 | tr '\n' ' ')"
	grep -a '^SNAP_ERR' "$E2E_LOG" | sed 's/^/  /'
else
	bed_pass "boot, pause, snapshot-create, SIGKILL, snapshot-load --resume all accepted"
fi
before=$(e2e_value SNAP_LAST_BEFORE)
first=$(e2e_value SNAP_FIRST_AFTER)
after=$(e2e_value SNAP_LAST_AFTER)
echo "create $(e2e_value SNAP_CREATE_MS) ms, memory file $(e2e_value SNAP_MEM_BYTES) bytes, load $(e2e_value SNAP_LOAD_MS) ms"
case "$(e2e_value SNAP_INFO)" in
*'"state":"Running"'*) bed_pass "the restored microVM is Running" ;;
*) bed_fail "GET / after load: $(e2e_value SNAP_INFO)" ;;
esac
if [ -n "${before:-}" ] && [ -n "${first:-}" ] && [ "$first" -eq $((before + 1)) ]; then
	bed_pass "the restored guest continues the count (last before $before, first after $first)"
else
	bed_fail "count does not continue (last before ${before:-?}, first after ${first:-?})"
	grep -a '^SNAP_CONSOLE2\|^SNAP_ERR' "$E2E_LOG" | sed 's/^/  /'
fi
if [ -n "${after:-}" ] && [ -n "${first:-}" ] && [ "$after" -gt "$first" ]; then
	bed_pass "the restored guest keeps counting ($first -> $after in 3 s)"
else
	bed_fail "the restored guest stopped (${first:-?} -> ${after:-?})"
fi

bed_summary "e2e snapshot"
