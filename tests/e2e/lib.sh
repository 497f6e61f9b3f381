# shellcheck shell=bash
# Shared by the e2e scripts: set-up of one bed session and the assertions on
# a guest boot. Sourced by bash. Builds on scripts/bed/lib.sh.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/bed/lib.sh
. "$E2E_DIR/../../scripts/bed/lib.sh"

# e2e_setup "$@": resolve ignis + source dir, guest artefacts, tstamp, and a
# work dir E2E_WORK (kept when a test fails, so its console log survives).
e2e_setup() {
	bed_args "$@"
	[ -n "$IGNIS_BIN" ] || bed_abort "no ignis binary given (arg 1 or IGNIS_BIN)"
	[ -x "$IGNIS_BIN" ] || bed_abort "ignis binary '$IGNIS_BIN' missing or not executable (build it first)"
	# shellcheck disable=SC2034 # used by the test scripts
	IGNIS_NAME=$(basename "$IGNIS_BIN")
	bed_guest_artefacts "$IGNIS_SRC"
	E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/ignis-e2e.XXXXXX")
	trap e2e_cleanup EXIT
	bed_build_tstamp "$E2E_WORK"
	E2E_LOG=$E2E_WORK/console.log
	E2E_INITRD_KB=$(($(stat -L -c %s "$GUEST_INITRAMFS") / 1024))
}

e2e_cleanup() {
	if [ "$bed_failures" -eq 0 ] && [ "${E2E_KEEP:-0}" != 1 ]; then
		rm -rf "$E2E_WORK"
	else
		echo "e2e: work dir kept: $E2E_WORK (console log: $E2E_LOG)"
	fi
}

# e2e_run_bed INNER_SCRIPT [run.sh options...]: one bed session with ignis,
# tstamp, case.sh and the guest artefacts (as /bed/vmlinux, /bed/initramfs)
# staged, plus every *.json in the work dir. Fails the test (but returns) if
# the bed itself broke, so the per-case checks still say what is missing.
e2e_run_bed() {
	local inner=$1 rc=0 json
	shift
	local extra=()
	for json in "$E2E_WORK"/*.json; do
		[ -e "$json" ] && extra+=(--file "$json")
	done
	"$IGNIS_SRC/scripts/bed/run.sh" --script "$inner" --log "$E2E_LOG" \
		--bin "$IGNIS_BIN" --bin "$BED_TSTAMP" \
		--file "$BED_DIR/case.sh" \
		--file "$GUEST_KERNEL:vmlinux" --file "$GUEST_INITRAMFS:initramfs" \
		${extra[@]+"${extra[@]}"} "$@" || rc=$?
	case $rc in
	0) ;;
	124) bed_fail "bed session timed out (see $E2E_LOG)" ;;
	125) bed_fail "bed died before the inner script finished (see $E2E_LOG)" ;;
	96) bed_fail "bed could not reserve the hugepages asked for" ;;
	97) bed_fail "bed has no /dev/kvm (kvm-amd did not load in L1)" ;;
	3) bed_fail "bed prerequisites missing on this host (see run.sh output above)" ;;
	*) bed_fail "bed inner script exited $rc" ;;
	esac
}

# Last lines of a case, for context in a failure message.
e2e_case_tail() {
	echo "  --- last lines of case $2 ---"
	bed_case_lines "$1" "$2" | tail -n "${3:-15}" | sed 's/^/  /'
}

# e2e_value KEY: the rest of the last line of the console log that starts
# with "KEY " (KEY may hold spaces), CRs dropped; empty, and still status 0,
# when there is none, so a missing line fails a check, not the script.
e2e_value() {
	{ grep -a "^$1 " "$E2E_LOG" || true; } | tail -n1 | cut -c$((${#1} + 2))- | tr -d '\r'
}

# e2e_check_exit NAME: the case finished, with status 0 (guest `reboot -f`
# with reboot=k must end ignis cleanly).
e2e_check_exit() {
	local name=$1 status
	status=$(bed_case_status "$E2E_LOG" "$name")
	if bed_case_timed_out "$E2E_LOG" "$name"; then
		bed_fail "$name: ignis still running at the case time limit; the guest's 'reboot -f' (reboot=k) should have ended it"
		e2e_case_tail "$E2E_LOG" "$name"
	elif [ -z "$status" ]; then
		bed_fail "$name: case never finished (bed died or the case did not run)"
	elif [ "$status" -eq 0 ]; then
		bed_pass "$name: guest 'reboot -f' ended ignis with exit status 0"
	else
		bed_fail "$name: ignis exit status $status after the guest's 'reboot -f', expected 0"
		e2e_case_tail "$E2E_LOG" "$name"
	fi
}

# e2e_check_boot NAME VCPUS MEM_MIB: init ran, CPU count and memory size as
# configured, clean exit, boot-timer line (the case ran with --boot-timer).
e2e_check_boot() {
	local name=$1 vcpus=$2 mem=$3 out err line cpus mem_kb lo hi
	out=$(bed_case_out "$E2E_LOG" "$name")
	err=$(bed_case_err "$E2E_LOG" "$name")

	line=$(printf '%s\n' "$out" | grep -a -m1 'IGNIS_INIT_OK' || true)
	if [ -z "$line" ]; then
		bed_fail "$name: guest init never printed IGNIS_INIT_OK on the console"
		e2e_case_tail "$E2E_LOG" "$name"
	else
		bed_pass "$name: guest init ran ($line)"
		cpus=$(printf '%s\n' "$line" | sed -n 's/.*cpus=\([0-9]*\).*/\1/p')
		if [ "$cpus" = "$vcpus" ]; then
			bed_pass "$name: guest sees $cpus CPUs"
		else
			bed_fail "$name: guest sees cpus=${cpus:-?}, configured vcpu_count=$vcpus"
		fi
		# MemTotal is RAM less what the kernel keeps for itself (its image,
		# page tables, the memmap: ~11 MiB for this kernel at 128 MiB) and
		# the initramfs while it unpacks. A fixed 20 MiB allowance plus the
		# initramfs is tight enough to catch a VMM that ignores
		# mem_size_mib, and does not shrink as the guest kernel grows a bit.
		mem_kb=$(printf '%s\n' "$line" | sed -n 's/.*mem_kb=\([0-9]*\).*/\1/p')
		hi=$((mem * 1024))
		lo=$((mem * 1024 - 20480 - E2E_INITRD_KB))
		if [ -n "$mem_kb" ] && [ "$mem_kb" -ge "$lo" ] && [ "$mem_kb" -le "$hi" ]; then
			bed_pass "$name: guest MemTotal $mem_kb kB fits mem_size_mib=$mem ($lo..$hi kB)"
		else
			bed_fail "$name: guest MemTotal ${mem_kb:-?} kB outside $lo..$hi kB for mem_size_mib=$mem"
		fi
	fi

	e2e_check_exit "$name"

	if printf '%s\n' "$err" | grep -a -q -E 'Guest-boot-time = +[0-9]+ us [0-9]+ ms, +[0-9]+ CPU us [0-9]+ CPU ms'; then
		bed_pass "$name: boot-timer line logged ($(printf '%s\n' "$err" | grep -a -m1 -o 'Guest-boot-time = .*'))"
	elif printf '%s\n' "$out" | grep -a -q 'Guest-boot-time'; then
		bed_fail "$name: boot-timer line went to stdout (the guest console); log lines belong on stderr"
	else
		bed_fail "$name: no 'Guest-boot-time = <us> us <ms> ms, <cpu us> CPU us <cpu ms> CPU ms' line on stderr with --boot-timer"
	fi
}
