#!/usr/bin/env bash
# e2e: the full production path in the nested bed. Inside the test host,
# ignis-jailer jails ignis (copy into <base>/ignis/<id>/root, pivot_root,
# new mount namespace, uid/gid 123:100, no capabilities, no_new_privs) and
# ignis runs with its default seccomp filters; ignis-ctl drives the API
# socket inside the jail; the kernel and a root drive are copied into the
# jail as an operator would; the guest runs a command and reboots, which
# ends ignis with exit 0. Then the same with --daemonize --new-pid-ns and
# the console going to a file in the jail (PUT /serial).
#
# usage: jailer.sh IGNIS_BINARY [SOURCE_DIR]   (or env IGNIS_BIN, IGNIS_SRC)
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
e2e_setup "$@"

bindir=$(dirname "$IGNIS_BIN")
for tool in ignis-ctl ignis-jailer; do
	[ -x "$bindir/$tool" ] || bed_abort "$tool not found next to $IGNIS_BIN (build it first)"
done
rootfs=$("$IGNIS_SRC/scripts/guest/build-rootfs.sh" | sed -n 's/^rootfs=//p' | tail -n1)
[ -f "$rootfs" ] || bed_abort "guest rootfs image missing (scripts/guest/build-rootfs.sh)"
cp "$rootfs" "$E2E_WORK/rootfs.ext4"
# ignis is dynamically linked: like the kernel and disks, its libraries are
# the operator's to put into the jail. This is the list to copy.
ldd "$IGNIS_BIN" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' >"$E2E_WORK/libs.txt"

# The bed's root is its initramfs, which pivot_root cannot leave: the test
# host first switches its root to a tmpfs copy (switch-root-l1.sh).
echo 'exec sh /bed/switch-root-l1.sh /bed/jail-inner.sh' >"$E2E_WORK/inner.sh"

cat >"$E2E_WORK/jail-inner.sh" <<'INNER'
set -u
cd /bed
ctl="/bed/bin/ignis-ctl --timeout 60"
args="console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux i8042.dumbkbd"

# make_jail ID: the operator's part, before the jailer runs.
make_jail() {
	root=/srv/jailer/ignis/$1/root
	mkdir -p "$root"
	while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp "$lib" "$root$lib"
	done </bed/libs.txt
	cp /bed/vmlinux "$root/vmlinux"
	cp /bed/rootfs.ext4 "$root/rootfs.ext4"
	chown 123:100 "$root/rootfs.ext4"
}

wait_sock() {
	i=0
	while [ ! -S "$1" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
}

configure() { # socket extra-cmd
	$ctl --api-sock "$1" raw PUT /boot-source "{\"kernel_image_path\": \"/vmlinux\", \"boot_args\": \"$args -- $2\"}" || echo "JAIL_API_FAILED boot-source"
	$ctl --api-sock "$1" raw PUT /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/rootfs.ext4", "is_root_device": true, "is_read_only": false}' || echo "JAIL_API_FAILED drive"
}

# 1. In the foreground: console on our stdout, exit status visible.
make_jail vm1
root=/srv/jailer/ignis/vm1/root
/bed/bin/ignis-jailer --id vm1 --exec-file /bed/bin/ignis --uid 123 --gid 100 \
	--chroot-base-dir /srv/jailer -- --api-sock /run/ignis.socket --boot-timer \
	>/bed/jail1.out 2>/bed/jail1.err &
pid=$!
wait_sock "$root/run/ignis.socket"
echo "JAIL1_SOCKET $([ -S "$root/run/ignis.socket" ] && echo yes || echo no)"
configure "$root/run/ignis.socket" "echo JAILED_GUEST_OK"
echo "JAIL1_STATUS $(grep -E '^(Uid|Gid|CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/$pid/status | tr -s ' \t' ' ' | tr '\n' ';')"
echo "JAIL1_ROOT $(ls -la /proc/$pid/root/ 2>/dev/null | wc -l) $(readlink /proc/$pid/root)"
echo "JAIL1_MNTNS $([ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] && echo new || echo same)"
seccomp_threads=0
for t in /proc/$pid/task/*; do
	[ "$(awk '/^Seccomp:/ {print $2}' "$t/status")" = 2 ] && seccomp_threads=$((seccomp_threads + 1))
done
$ctl --api-sock "$root/run/ignis.socket" start || echo "JAIL_API_FAILED start"
sleep 1
for t in /proc/$pid/task/*; do
	[ -r "$t/status" ] && [ "$(awk '/^Seccomp:/ {print $2}' "$t/status")" = 2 ] && seccomp_threads=$((seccomp_threads + 1))
done
echo "JAIL1_SECCOMP_THREADS $seccomp_threads"
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $pid 2>/dev/null && { echo JAIL1_STILL_RUNNING; kill -9 $pid; }
wait $pid
echo "JAIL1_EXIT $?"
grep -q '^JAILED_GUEST_OK' /bed/jail1.out && echo JAIL1_GUEST_RAN
sed 's/^/JAIL1_ERR /' /bed/jail1.err | tail -n 6

# 2. Daemonized in a new PID namespace: the console goes to a file in the jail.
make_jail vm2
root=/srv/jailer/ignis/vm2/root
/bed/bin/ignis-jailer --id vm2 --exec-file /bed/bin/ignis --uid 123 --gid 100 \
	--chroot-base-dir /srv/jailer --daemonize --new-pid-ns -- --api-sock /run/ignis.socket
echo "JAIL2_JAILER_EXIT $?"
wait_sock "$root/run/ignis.socket"
i=0
while [ ! -s "$root/ignis.pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
pid2=$(cat "$root/ignis.pid" 2>/dev/null || echo 0)
echo "JAIL2_PIDNS $([ "$(readlink /proc/$pid2/ns/pid)" != "$(readlink /proc/self/ns/pid)" ] && echo new || echo same)"
$ctl --api-sock "$root/run/ignis.socket" raw PUT /serial '{"serial_out_path": "/console.txt"}' || echo "JAIL_API_FAILED serial"
configure "$root/run/ignis.socket" "echo JAILED_DAEMON_OK"
$ctl --api-sock "$root/run/ignis.socket" start || echo "JAIL_API_FAILED start2"
i=0
while kill -0 "$pid2" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 "$pid2" 2>/dev/null && { echo JAIL2_STILL_RUNNING; kill -9 "$pid2"; }
grep -q '^JAILED_DAEMON_OK' "$root/console.txt" 2>/dev/null && echo JAIL2_GUEST_RAN
grep -q 'reboot: Restarting system' "$root/console.txt" 2>/dev/null && echo JAIL2_GUEST_REBOOTED
echo "JAIL2_SOCKET_LEFT $([ -e "$root/run/ignis.socket" ] && echo yes || echo no)"
INNER

e2e_run_bed "$E2E_WORK/inner.sh" --bin "$bindir/ignis-ctl" --bin "$bindir/ignis-jailer" \
	--file "$E2E_WORK/rootfs.ext4:rootfs.ext4" --file "$E2E_WORK/libs.txt:libs.txt" \
	--file "$E2E_WORK/jail-inner.sh:jail-inner.sh" --file "$IGNIS_SRC/tests/e2e/switch-root-l1.sh" \
	--timeout 600

value() { grep -a "^$1 " "$E2E_LOG" | tail -n1 | cut -d' ' -f2- | tr -d '\r'; }
has() { grep -aq "^$1" "$E2E_LOG"; }
expect() { # name condition-rc detail
	if [ "$2" = 0 ]; then bed_pass "$1"; else bed_fail "$1 ${3:-}"; fi
}

if has JAIL_API_FAILED; then
	bed_fail "API calls into the jail failed: $(grep -a '^JAIL_API_FAILED' "$E2E_LOG" | tr '\n' ' ')"
fi
expect "the API socket appears inside the jail (<root>/run/ignis.socket)" "$([ "$(value JAIL1_SOCKET)" = yes ]; echo $?)"
st=$(value JAIL1_STATUS)
expect "ignis runs as uid/gid 123/100" "$(printf '%s' "$st" | grep -q 'Uid: 123 123 123 123;Gid: 100 100 100 100'; echo $?)" "($st)"
expect "ignis has no capabilities (CapEff and CapBnd 0) and NoNewPrivs 1" \
	"$(printf '%s' "$st" | grep -q 'CapEff: 0000000000000000;CapBnd: 0000000000000000;NoNewPrivs: 1'; echo $?)" "($st)"
expect "ignis's root is the jail (pivot_root)" "$([ "$(value JAIL1_ROOT | cut -d' ' -f2)" = / ]; echo $?)" "($(value JAIL1_ROOT))"
expect "ignis runs in a new mount namespace" "$([ "$(value JAIL1_MNTNS)" = new ]; echo $?)"
n=$(value JAIL1_SECCOMP_THREADS)
expect "ignis's threads run under seccomp filters (Seccomp: 2)" "$([ "${n:-0}" -ge 2 ]; echo $?)" "(threads seen filtered: ${n:-0})"
expect "the jailed guest booted from the root drive in the jail and ran its command" "$(has JAIL1_GUEST_RAN; echo $?)"
expect "the guest's reboot ended the jailed ignis with exit 0" "$([ "$(value JAIL1_EXIT)" = 0 ]; echo $?)" \
	"(exit $(value JAIL1_EXIT); $(grep -a '^JAIL1_ERR' "$E2E_LOG" | tail -3 | tr '\n' ' '))"
expect "--daemonize: the jailer returns 0 at once" "$([ "$(value JAIL2_JAILER_EXIT)" = 0 ]; echo $?)"
expect "--new-pid-ns: ignis runs in a new PID namespace" "$([ "$(value JAIL2_PIDNS)" = new ]; echo $?)"
expect "the daemonized guest ran its command (console in the jail via PUT /serial)" "$(has JAIL2_GUEST_RAN; echo $?)"
expect "the daemonized guest rebooted and ignis went away" \
	"$(has JAIL2_GUEST_REBOOTED && ! has JAIL2_STILL_RUNNING; echo $?)"
expect "the daemonized ignis removed its socket" "$([ "$(value JAIL2_SOCKET_LEFT)" = no ]; echo $?)"

bed_summary "e2e jailer"
