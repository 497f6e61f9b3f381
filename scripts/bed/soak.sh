#!/usr/bin/env bash
# Soak the nested test bed: N short bed sessions, each booting a Linux guest
# under ignis, pausing it, snapshotting, killing it and restoring it in a
# fresh ignis (the pattern that stalled, README "Stalls"), and a tally of
# how each session ended:
#   ok        the guest counted before and after the restore
#   frozen    L1 froze: no heartbeat for the freeze limit (run.sh exit 98)
#   l2-late   L1 alive, but the guest made no progress for 60 s (its timer
#             far too late), at boot or after the restore
#   other     anything else (the line says what)
#
#   scripts/bed/soak.sh [-o LOGDIR] N
# Experiments go through the environment: IGNIS_BED_CPU, IGNIS_BED_L1_APPEND,
# IGNIS_BED_KVM_OPTS, IGNIS_BED_KVM_AMD_OPTS (run.sh), SOAK_L2_APPEND (added to the guest's
# command line), SOAK_VCPUS (default 2), IGNIS_BUILD (default build/).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
logdir=""
if [ "${1:-}" = -o ]; then
	logdir=$2
	shift 2
fi
n=${1:?usage: soak.sh [-o LOGDIR] N}
build=${IGNIS_BUILD:-$src/build}
ignis=$build/ignis
ctl=$build/ignis-ctl
[ -x "$ignis" ] && [ -x "$ctl" ] || { echo "soak: build ignis and ignis-ctl in $build first" >&2; exit 2; }
# shellcheck source=scripts/bed/lib.sh
. "$here/lib.sh"
bed_guest_artefacts "$src" >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/ignis-soak.XXXXXX")
[ -n "$logdir" ] || logdir=$work/logs
mkdir -p "$logdir"
trap 'rm -rf "$work"' EXIT
args="$BED_IGNIS_ARGS ${SOAK_L2_APPEND:-}"

cat >"$work/inner.sh" <<INNER
set -u
mkdir -p /bed
IGNIS=$ignis
STEP_TAG=SOAK
. $src/tests/e2e/snapshot-l1.sh
ctl1="$ctl --api-sock /run/a.sock --timeout 60"
ctl2="$ctl --api-sock /run/b.sock --timeout 60"
# progress FILE N LIMIT_S: until FILE's count reaches N; 1 if it does not in time.
progress() {
	_end=\$((\$(date +%s) + \$3))
	until [ "\$(last "\$1")" -ge "\$2" ] 2>/dev/null; do
		[ "\$(date +%s)" -lt \$_end ] || return 1
		sleep 0.2
	done
}
start_ignis /run/a.sock /tmp/c1
step \$ctl1 raw PUT /boot-source '{"kernel_image_path": "$GUEST_KERNEL", "initrd_path": "$GUEST_INITRAMFS", "boot_args": "$args -- i=0; while :; do i=\$((i+1)); echo CNT \$i; sleep 0.2; done"}'
step \$ctl1 raw PUT /machine-config '{"vcpu_count": ${SOAK_VCPUS:-2}, "mem_size_mib": 128}'
step \$ctl1 start
progress /tmp/c1 5 60 || { echo "SOAK_L2_LATE boot at \$(last /tmp/c1)"; tail -n 5 /tmp/c1; exit 0; }
step \$ctl1 pause
step \$ctl1 snapshot-create /tmp/vm.state /tmp/vm.mem
kill -9 \$pid; wait \$pid 2>/dev/null
start_ignis /run/b.sock /tmp/c2
step \$ctl2 snapshot-load /tmp/vm.state /tmp/vm.mem --resume
progress /tmp/c2 \$((\$(last_complete /tmp/c1) + 5)) 60 || { echo "SOAK_L2_LATE restore at \$(last /tmp/c2)"; exit 0; }
echo "SOAK_COUNT before \$(last_complete /tmp/c1) first after \$(first_joined /tmp/c1 /tmp/c2)"
kill -9 \$pid; wait \$pid 2>/dev/null
echo SOAK_OK
INNER

ok=0 frozen=0 late=0 other=0
echo "soak: $n sessions; L1 cpu '${IGNIS_BED_CPU:-default}', L1 append '${IGNIS_BED_L1_APPEND:-}'," \
	"kvm '${IGNIS_BED_KVM_OPTS:-}', kvm-amd '${IGNIS_BED_KVM_AMD_OPTS:-}', L2 append '${SOAK_L2_APPEND:-}', ${SOAK_VCPUS:-2} vCPUs"
for i in $(seq 1 "$n"); do
	log=$logdir/session-$i.log
	start=$(date +%s)
	rc=0
	"$here/run.sh" --hostfs --script "$work/inner.sh" --timeout 400 --freeze-limit 90 \
		--log "$log" >/dev/null 2>&1 || rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" = 98 ]; then
		kind=frozen; frozen=$((frozen + 1))
	elif grep -aq '^SOAK_L2_LATE' "$log"; then
		kind="l2-late ($(grep -a -m1 '^SOAK_L2_LATE' "$log" | cut -d' ' -f2-))"; late=$((late + 1))
	elif [ "$rc" = 0 ] && grep -aq '^SOAK_OK' "$log" && ! grep -aq '^SOAK_STEP_FAILED' "$log"; then
		kind=ok; ok=$((ok + 1))
	else
		kind="other (exit $rc$({ grep -a -m1 '^SOAK_STEP_FAILED' "$log" || true; } | sed 's/^/: /'))"
		other=$((other + 1))
	fi
	echo "soak: session $i: $kind, ${secs}s"
done
echo "soak: $n sessions: $ok ok, $frozen frozen (L1), $late late (L2), $other other; logs in $logdir"
[ $((frozen + late + other)) = 0 ]
