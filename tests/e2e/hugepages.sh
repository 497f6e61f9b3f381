#!/usr/bin/env bash
# e2e: guest RAM on 2 MiB hugepages (machine-config huge_pages "2M"), in the
# nested bed (see scripts/bed/README.md).
#   huge2m:  80 pages reserved in L1; the guest boots to init and exits
#            cleanly, and hugepages were really taken while it ran
#   nohuge:  the same config with no pages reserved: ignis must refuse with
#            a non-zero status and an error that mentions hugepages
# One bed session for both cases (the inner script drops the reservation).
#
# usage: hugepages.sh IGNIS_BINARY [SOURCE_DIR]   (or env IGNIS_BIN, IGNIS_SRC)
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
e2e_setup "$@"

pages=80 # 128 MiB of guest RAM is 64 pages; the rest is headroom
bed_vm_json "$E2E_WORK/huge.json" /bed/vmlinux /bed/initramfs 1 128 2M "$BED_IGNIS_ARGS"

# Inner script: \$ is evaluated in L1, $IGNIS_NAME here.
cat >"$E2E_WORK/inner.sh" <<INNER
. /bed/case.sh
# Hugepages still available (free minus reserved-for-mappings), sampled
# while ignis runs: the minimum shows whether ignis took any. Builtins only,
# so the sampler barely slows the single-CPU bed.
hp_avail() {
	while read -r k v _; do
		case \$k in HugePages_Free:) f=\$v ;; HugePages_Rsvd:) r=\$v ;; esac
	done </proc/meminfo
	echo \$((f - r))
}
(
	min=\$(hp_avail)
	while [ ! -e /tmp/hp_stop ]; do
		a=\$(hp_avail)
		[ "\$a" -lt "\$min" ] && min=\$a
		echo "\$min" >/tmp/hp_min
		sleep 0.2
	done
) &
sampler=\$!
bed_case huge2m 120 /bed/bin/$IGNIS_NAME --no-api --config-file /bed/huge.json --boot-timer
touch /tmp/hp_stop
wait \$sampler
echo "HP_STAT total=\$(cat /proc/sys/vm/nr_hugepages) min_avail=\$(cat /tmp/hp_min)"

echo 0 >/proc/sys/vm/nr_hugepages
echo "HP_RELEASED total=\$(cat /proc/sys/vm/nr_hugepages)"
bed_case nohuge 60 /bed/bin/$IGNIS_NAME --no-api --config-file /bed/huge.json
INNER

e2e_run_bed "$E2E_WORK/inner.sh" --timeout 600 --hugepages "$pages"

e2e_check_boot huge2m 1 128
stat=$(grep -a -m1 '^HP_STAT ' "$E2E_LOG" || true)
total=$(printf '%s\n' "$stat" | sed -n 's/.*total=\([0-9]*\).*/\1/p')
min=$(printf '%s\n' "$stat" | sed -n 's/.*min_avail=\([0-9]*\).*/\1/p')
if [ -z "$total" ] || [ -z "$min" ]; then
	bed_fail "huge2m: no hugepage usage sample from L1"
elif [ "$min" -lt "$total" ]; then
	bed_pass "huge2m: ignis took hugepages while running ($((total - min)) of $total)"
else
	bed_fail "huge2m: no hugepage was ever taken (available stayed at $min of $total): huge_pages \"2M\" ignored?"
fi

if ! grep -a -q '^HP_RELEASED total=0' "$E2E_LOG"; then
	bed_fail "nohuge: could not drop the hugepage reservation in L1; case not meaningful"
fi
status=$(bed_case_status "$E2E_LOG" nohuge)
if [ -z "$status" ]; then
	bed_fail "nohuge: case never finished"
elif bed_case_timed_out "$E2E_LOG" nohuge; then
	bed_fail "nohuge: ignis hung with huge_pages \"2M\" and no hugepages reserved, expected an error exit"
elif [ "$status" -ne 0 ]; then
	bed_pass "nohuge: ignis refused to start without hugepages (exit status $status)"
else
	bed_fail "nohuge: ignis exited 0 with huge_pages \"2M\" and no hugepages reserved, expected non-zero"
fi
if bed_case_err "$E2E_LOG" nohuge | grep -a -q -i 'huge'; then
	bed_pass "nohuge: error names the cause ($(bed_case_err "$E2E_LOG" nohuge | grep -a -i -m1 'huge'))"
else
	bed_fail "nohuge: stderr does not mention hugepages"
	e2e_case_tail "$E2E_LOG" nohuge
fi

bed_summary "e2e hugepages"
