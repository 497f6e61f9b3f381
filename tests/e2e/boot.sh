#!/usr/bin/env bash
# e2e: ignis boots the minimal guest kernel with the busybox initramfs as its
# root (there is no virtio-blk yet) to init, in the nested bed (this host's
# PVM /dev/kvm cannot boot Linux; see scripts/bed/README.md).
#   boot1: 1 vCPU, 128 MiB, runs a command given after " -- " on the cmdline
#   boot2: 2 vCPUs, 256 MiB (a second size proves mem_size_mib is honoured)
# Both: IGNIS_INIT_OK with the right cpus= and mem_kb=, guest `reboot -f`
# ends ignis with status 0, --boot-timer logs its Guest-boot-time line.
# One bed session for both cases: each bed boot costs several seconds.
#
# usage: boot.sh IGNIS_BINARY [SOURCE_DIR]   (or env IGNIS_BIN, IGNIS_SRC)
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
e2e_setup "$@"

# $((6*7)) is evaluated by the guest's shell, so E2E_42 on the console
# proves the command ran (the cmdline itself, echoed by the kernel, only
# holds the unevaluated text).
bed_vm_json "$E2E_WORK/boot1.json" /bed/vmlinux /bed/initramfs 1 128 None \
	"$BED_IGNIS_ARGS -- echo E2E_\$((6*7))"
bed_vm_json "$E2E_WORK/boot2.json" /bed/vmlinux /bed/initramfs 2 256 None "$BED_IGNIS_ARGS"

cat >"$E2E_WORK/inner.sh" <<INNER
. /bed/case.sh
bed_case boot1 120 /bed/bin/$IGNIS_NAME --no-api --config-file /bed/boot1.json --boot-timer
bed_case boot2 120 /bed/bin/$IGNIS_NAME --no-api --config-file /bed/boot2.json --boot-timer
INNER

e2e_run_bed "$E2E_WORK/inner.sh" --timeout 600

e2e_check_boot boot1 1 128
if bed_case_out "$E2E_LOG" boot1 | grep -a -q '^E2E_42'; then
	bed_pass "boot1: command after ' -- ' ran in the guest (printed E2E_42)"
else
	bed_fail "boot1: command after ' -- ' did not run (no E2E_42 on the console)"
fi
if bed_case_out "$E2E_LOG" boot1 | grep -a -q 'IGNIS_CMD_EXIT=0'; then
	bed_pass "boot1: guest init reported IGNIS_CMD_EXIT=0"
else
	bed_fail "boot1: no IGNIS_CMD_EXIT=0 from the guest init"
fi
e2e_check_boot boot2 2 256

bed_summary "e2e boot"
