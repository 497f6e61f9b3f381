#!/usr/bin/env bash
# e2e: a Linux guest configured and started only through the API, in the
# nested bed. Inside the test host, ignis runs with an API socket and
# ignis-ctl (built next to it) drives it: boot-source, machine-config, an
# ext4 root drive, a network interface on a TAP, InstanceStart; the guest prints a tick every 0.2 s; then
# pause (ticks stop), resume (ticks go on), SendCtrlAltDel (the guest's
# kernel reboots, which ends ignis with exit 0).
#
# usage: api.sh IGNIS_BINARY [SOURCE_DIR]   (or env IGNIS_BIN, IGNIS_SRC)
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
e2e_setup "$@"

ctl=$(dirname "$IGNIS_BIN")/ignis-ctl
[ -x "$ctl" ] || bed_abort "ignis-ctl not found next to $IGNIS_BIN (build the ignis-ctl target)"
rootfs=$("$IGNIS_SRC/scripts/guest/build-rootfs.sh" | sed -n 's/^rootfs=//p' | tail -n1)
[ -f "$rootfs" ] || bed_abort "guest rootfs image missing (scripts/guest/build-rootfs.sh)"
rootfs_copy=$E2E_WORK/rootfs.ext4
cp "$rootfs" "$rootfs_copy" # the cached image is shared: the guest writes to a copy

cat >"$E2E_WORK/inner.sh" <<INNER
set -u
ctl="/bed/bin/ignis-ctl --api-sock /run/ig.sock --timeout 60"
mkdir -p /run
/bed/bin/ip tuntap add tap0 mode tap && /bed/bin/ip link set tap0 up || echo "API_STEP_FAILED tap set-up"
/bed/bin/$IGNIS_NAME --api-sock /run/ig.sock --boot-timer </dev/null >/bed/console.txt 2>/bed/ignis.err &
pid=\$!
i=0
while [ ! -S /run/ig.sock ] && [ \$i -lt 100 ]; do sleep 0.05; i=\$((i + 1)); done
step() { echo "API_STEP \$*"; "\$@" || echo "API_STEP_FAILED \$*"; }
step \$ctl raw PUT /boot-source '{"kernel_image_path": "/bed/vmlinux", "boot_args": "console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux i8042.dumbkbd -- echo MAC=\$(cat /sys/class/net/eth0/address); while :; do echo TICK; sleep 0.2; done"}'
step \$ctl raw PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 128}'
step \$ctl raw PUT /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/bed/rootfs.ext4", "is_root_device": true, "is_read_only": false}'
step \$ctl raw PUT /network-interfaces/eth0 '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}'
step \$ctl start
i=0
while ! grep -q '^TICK' /bed/console.txt && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
echo "API_TICKS_BEFORE_PAUSE \$(grep -c '^TICK' /bed/console.txt)"
step \$ctl pause
echo "API_INFO_PAUSED \$(\$ctl info | tr -d '\n ')"
sleep 0.5
a=\$(grep -c '^TICK' /bed/console.txt)
sleep 2
b=\$(grep -c '^TICK' /bed/console.txt)
echo "API_TICKS_WHILE_PAUSED \$a \$b"
step \$ctl resume
sleep 2
echo "API_TICKS_AFTER_RESUME \$(grep -c '^TICK' /bed/console.txt)"
step \$ctl ctrl-alt-del
i=0
while kill -0 \$pid 2>/dev/null && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
if kill -0 \$pid 2>/dev/null; then
	echo "API_IGNIS_STILL_RUNNING"
	kill -9 \$pid
fi
wait \$pid
echo "API_IGNIS_EXIT \$?"
echo "API_SOCKET_LEFT \$([ -e /run/ig.sock ] && echo yes || echo no)"
grep -a 'MAC=' /bed/console.txt | sed 's/^/API_CONSOLE /'
sed 's/^/API_CONSOLE /' /bed/console.txt | tail -n 5
sed 's/^/API_ERR /' /bed/ignis.err | tail -n 8
INNER

e2e_run_bed "$E2E_WORK/inner.sh" --bin "$ctl" --bin "$(command -v ip)" --file "$rootfs_copy:rootfs.ext4" --timeout 240

value() { grep -a "^$1 " "$E2E_LOG" | tail -n1 | cut -d' ' -f2- | tr -d '\r'; }

if grep -a '^API_CONSOLE\|MAC=' "$E2E_LOG" | grep -aq 'MAC=06:00:ac:10:00:02'; then
	bed_pass "the guest sees the interface configured through the API (eth0 with the given MAC)"
else
	bed_fail "the guest's eth0 does not have the MAC set through PUT /network-interfaces"
fi
if grep -aq '^API_STEP_FAILED' "$E2E_LOG"; then
	bed_fail "an API step failed: $(grep -a '^API_STEP_FAILED' "$E2E_LOG" | head -3 | tr '\n' ' ')"
	grep -a '^API_ERR' "$E2E_LOG" | sed 's/^/  /'
else
	bed_pass "boot-source, machine-config, root drive and InstanceStart accepted through the API"
fi
before=$(value API_TICKS_BEFORE_PAUSE)
if [ "${before:-0}" -ge 1 ]; then
	bed_pass "the guest booted from its virtio-blk root and runs its command ($before ticks before pause)"
else
	bed_fail "no TICK from the guest before pause"
	grep -a '^API_CONSOLE\|^API_ERR' "$E2E_LOG" | sed 's/^/  /'
fi
case "$(value API_INFO_PAUSED)" in
*'"state":"Paused"'*) bed_pass "GET / reports state Paused" ;;
*) bed_fail "GET / after pause: $(value API_INFO_PAUSED)" ;;
esac
read -r a b <<<"$(value API_TICKS_WHILE_PAUSED)"
if [ -n "${a:-}" ] && [ "$a" = "$b" ]; then
	bed_pass "no tick while paused ($a before, $b two seconds later)"
else
	bed_fail "the guest ran while paused (ticks ${a:-?} -> ${b:-?})"
fi
after=$(value API_TICKS_AFTER_RESUME)
if [ -n "${after:-}" ] && [ -n "${b:-}" ] && [ "$after" -gt "$b" ]; then
	bed_pass "ticks resume after PATCH /vm Resumed ($b -> $after)"
else
	bed_fail "no ticks after resume (${b:-?} -> ${after:-?})"
fi
if grep -aq '^API_IGNIS_STILL_RUNNING' "$E2E_LOG"; then
	bed_fail "SendCtrlAltDel did not end the guest within 30 s"
fi
rc=$(value API_IGNIS_EXIT)
if [ "${rc:-x}" = 0 ]; then
	bed_pass "SendCtrlAltDel rebooted the guest and ignis exited 0"
else
	bed_fail "ignis exit status after SendCtrlAltDel: ${rc:-none}"
	grep -a '^API_ERR' "$E2E_LOG" | sed 's/^/  /'
fi
if [ "$(value API_SOCKET_LEFT)" = no ]; then
	bed_pass "the API socket is removed on exit"
else
	bed_fail "the API socket was left behind"
fi

bed_summary "e2e api"
