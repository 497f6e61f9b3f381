#!/usr/bin/env bash
# Benchmark: density and restore rate of function clones. N clones of one
# snapshot of the function guest (scripts/guest/build-fn-rootfs.sh, 1 vCPU,
# 128 MiB) run at once, each in its own network namespace with the same TAP
# name and guest address (Firecracker's clone network recipe), all mapping
# the same memory file, so the pages no clone wrote are shared through the
# page cache; each answers one invocation; then each clone's proportional
# set size (Pss: shared pages divided among their users) and Rss. The same
# with N QEMU -M microvm clones restored from one migration file (its RAM is
# anonymous: each clone gets its own copy of what it loaded). And restores
# per second on one core (L1 has one CPU): RESTORES times, one after the
# other, a fresh ignis, load, the first 200, SIGKILL, once plain and once
# jailed. One bed session. The ignis clones are jailed as a platform runs
# them (ignis-jailer: own uid, cgroup v2 leaf, network namespace; the
# snapshot and drive hard-linked into each jail); the QEMU clones are not.
#
# usage: clones.sh [IGNIS_BINARY [SOURCE_DIR]] [--clones N] [--restores N] [--log FILE]
#   (or env IGNIS_BIN, IGNIS_SRC). ignis-ctl comes from next to ignis.
# Exit status: 0 if every step produced its numbers; 1 otherwise.
set -euo pipefail

clones=10
restores=10
log=""
pos=()
while [ $# -gt 0 ]; do
	case "$1" in
	--clones) clones=$2; shift 2 ;;
	--restores) restores=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	-*) echo "clones: unknown option $1" >&2; exit 2 ;;
	*) pos+=("$1"); shift ;;
	esac
done
for n in "$clones" "$restores"; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "clones: not a positive number: $n" >&2; exit 2; }
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/bed/lib.sh
. "$here/../../scripts/bed/lib.sh"
# shellcheck source=tests/e2e/net-lib.sh
. "$here/../e2e/net-lib.sh"
# shellcheck source=tests/e2e/function-lib.sh
. "$here/../e2e/function-lib.sh"
bed_args ${pos[@]+"${pos[@]}"}
[ -x "${IGNIS_BIN:-}" ] || bed_abort "clones: no ignis binary (arg 1 or IGNIS_BIN)"
ctl=$(dirname "$IGNIS_BIN")/ignis-ctl
[ -x "$ctl" ] || bed_abort "clones: no ignis-ctl next to $IGNIS_BIN"
jailer=$(dirname "$IGNIS_BIN")/ignis-jailer
[ -x "$jailer" ] || bed_abort "clones: no ignis-jailer next to $IGNIS_BIN"

bed_guest_artefacts "$IGNIS_SRC"
net_find_ip
work=$(mktemp -d "${TMPDIR:-/tmp}/ignis-perf.XXXXXX")
trap 'rm -rf "$work"' EXIT
fn_build_artefacts "$work"
console=${log:-$work/console.log}
fn_json "$work/fn.json" 128
qemu_args="-M microvm,acpi=off,auto-kernel-cmdline=off -accel kvm -bios \"\$BED_QEMU_DATA/bios-microvm.bin\" \\
	-cpu qemu64 -smp 1 -m 128 -nodefaults -no-user-config -display none -no-reboot \\
	-global migration.store-global-state=off -kernel /bed/vmlinux \\
	-append 'console=ttyS0 reboot=t panic=1 root=/dev/vda ro virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11 -- sh /etc/fn/start' \\
	-drive file=/bed/fn-rootfs.ext4,format=raw,if=none,id=d0,readonly=on -device virtio-blk-device,drive=d0 \\
	-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \\
	-device virtio-net-device,netdev=n0,mac=06:00:ac:10:00:02"
# The snapshot's QEMU (QMP on stdio, for warm-start's helpers) and the clones'.
cat >"$work/fn-qemu.sh" <<EOF2
con=\$1
shift
exec "\$BED_QEMU" -L "\$BED_QEMU_DATA" $qemu_args -serial "file:\$con" -qmp stdio "\$@"
EOF2
cat >"$work/clone-qemu.sh" <<EOF2
# usage: clone-qemu.sh CONSOLE MIGRATION_FILE
exec "\$BED_QEMU" -L "\$BED_QEMU_DATA" $qemu_args -serial "file:\$1" -monitor none -incoming "exec:cat \$2"
EOF2
# ignis is dynamically linked: its libraries go into every jail.
ldd "$IGNIS_BIN" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' >"$work/libs.txt"
cat >"$work/inner.sh" <<EOF2
export N=$clones RESTORES=$restores IGNIS=/bed/bin/$(basename "$IGNIS_BIN") CTL=/bed/bin/ignis-ctl
export FNI=/bed/bin/fn-invoke JAILER=/bed/bin/ignis-jailer
exec sh /bed/switch-root-l1.sh /bed/clones-l1.sh
EOF2

echo "clones: one bed session, $clones clones of a 128 MiB guest, $restores sequential restores"
bed_rc=0
"$IGNIS_SRC/scripts/bed/run.sh" --qemu-peer --mem $((1536 + clones * 160)) --script "$work/inner.sh" \
	--log "$console" --timeout $((600 + clones * 60 + restores * 30)) \
	--bin "$IGNIS_BIN" --bin "$ctl" --bin "$jailer" --bin "$FN_INVOKE" --bin "$NET_IP" \
	--file "$work/libs.txt" --file "$here/../e2e/switch-root-l1.sh" \
	--file "$here/../e2e/net-l1.sh" --file "$here/../e2e/function-l1.sh" \
	--file "$here/clones-l1.sh" --file "$work/fn.json" --file "$work/fn-qemu.sh" \
	--file "$work/clone-qemu.sh" \
	--file "$GUEST_KERNEL:vmlinux" --file "$FN_ROOTFS:fn-rootfs.ext4" >/dev/null || bed_rc=$?

failed=0
grep -aq '^CL_DONE' "$console" || { echo "clones: the L1 script did not finish"; failed=1; }
grep -a 'STEP_FAILED\|FN_FAIL' "$console" | sed 's/^/clones: /' && failed=1
answered() { grep -ac "^$1-c[0-9]* FN_FIRST .*status=200" "$console" || true; }
echo "ignis clones answering: $(answered ig) of $clones; QEMU clones answering: $(answered q) of $clones"
grep -a '^CL_L1_MEM' "$console" | sed 's/^CL_L1_MEM /L1 /'
awk -v n="$clones" '
/^CL_MEM / { k = $2; pss[k] += $4; rss[k] += $5; cnt[k]++ }
END {
	printf "| per clone (kB, mean of %d) | Pss | Rss | Pss / 128 MiB |\n|---|---|---|---|\n", n
	for (k in cnt) printf "| %s | %.0f | %.0f | %.3f |\n", k, pss[k] / cnt[k], rss[k] / cnt[k], pss[k] / cnt[k] / 131072
	if (cnt["ignis"] && cnt["qemu"])
		printf "ignis Pss per clone = %.2f x QEMU'"'"'s\n", pss["ignis"] / pss["qemu"]
}' "$console"
for j in 0 1; do
	rs=$(grep -a "^CL_RESTORES .* jailed=$j" "$console" | tail -n1)
	what=plain
	[ "$j" = 0 ] || what=jailed
	if [ -z "$rs" ]; then
		echo "clones: no $what restore timing"
		failed=1
		continue
	fi
	ok=$(grep -ac "^rs$j-[0-9]* FN_FIRST .*status=200" "$console" || true)
	echo "$rs" | awk -v w="$what" -v ok="$ok" '{ printf "restores, %s: %d in %s s = %.2f per second (load + first 200 + SIGKILL, one core), %d answered\n", w, $2, $4, $2 / $4, ok }'
	[ "$ok" = "$restores" ] || failed=1
done
grep -a '^CL_JAIL ' "$console" | head -n 2 | sed 's/^CL_JAIL /jail: /'
[ "$(answered ig)" = "$clones" ] && [ "$(answered q)" = "$clones" ] || failed=1
[ "$bed_rc" = 0 ] || { echo "clones: bed session ended with status $bed_rc (console log: $console)"; exit "$bed_rc"; }
[ "$failed" = 0 ] || { echo "clones: some steps failed"; exit 1; }
