# shellcheck shell=sh
# Inner-side helpers, sourced by scripts that run inside L1 (busybox sh).
# Stage with `--file scripts/bed/case.sh --bin <tstamp>`; see lib.sh for the
# host side that reads the results back.

# bed_case NAME LIMIT_S CMD...: run CMD under tstamp with a time limit,
# every output line prefixed with "NAME " so one console log can hold many
# cases. The status travels in the "NAME TSTAMP_EXIT status=<n>" line.
bed_case() {
	_name=$1
	_limit=$2
	shift 2
	echo "CASE_BEGIN $_name: $*"
	"${BED_TSTAMP_BIN:-/bed/bin/tstamp}" -t "$_limit" -- "$@" | sed "s/^/$_name /"
	echo "CASE_END $_name"
}

# bed_wait_exit PID LIMIT_S: wait (wall clock) for PID to end; 0 if it did,
# 1 if it is still running at the limit (after bed_dump_proc, so a stall
# leaves evidence of where each thread was).
bed_wait_exit() {
	_end=$(($(date +%s) + $2))
	while kill -0 "$1" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$_end" ]; then
			bed_dump_proc "$1"
			return 1
		fi
		sleep 0.2
	done
	return 0
}

# bed_dump_proc PID: each thread's name, state, CPU ticks (user+system),
# kernel wait channel and current syscall, plus L1's load and the top of
# the process's stack in the kernel: "BED_PROC ..." lines.
bed_dump_proc() {
	echo "BED_PROC pid $1 loadavg $(cat /proc/loadavg)"
	for _t in /proc/"$1"/task/*; do
		echo "BED_PROC tid ${_t##*/} $(cat "$_t/comm" 2>/dev/null) \
state $(awk '{ print $3, "utime", $14, "stime", $15 }' "$_t/stat" 2>/dev/null) \
wchan $(cat "$_t/wchan" 2>/dev/null) syscall $(cut -d' ' -f1 "$_t/syscall" 2>/dev/null)"
		sed 's/^/BED_PROC   /' "$_t/stack" 2>/dev/null | head -n 8
	done
	# KVM's exit counters (all VMs in L1) and a second sample 2 s later:
	# which threads burn CPU now, and whether the guest is exiting in a loop.
	[ -d /sys/kernel/debug/kvm ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
	bed_kvm_stats "BED_PROC kvm"
	sleep 2
	for _t in /proc/"$1"/task/*; do
		echo "BED_PROC tid ${_t##*/} +2s $(awk '{ print $3, "utime", $14, "stime", $15 }' "$_t/stat" 2>/dev/null)"
	done
	bed_kvm_stats "BED_PROC kvm +2s"
	grep -E 'kvm|MemFree' /proc/meminfo | head -n 2 | sed 's/^/BED_PROC /'
}

# bed_kvm_stats PREFIX: one line of L1 KVM's global exit counters.
bed_kvm_stats() {
	_line=$1
	for _f in exits halt_exits io_exits mmio_exits irq_exits irq_injections \
		irq_window_exits nmi_injections request_irq_exits signal_exits; do
		[ -r /sys/kernel/debug/kvm/$_f ] && _line="$_line $_f=$(cat /sys/kernel/debug/kvm/$_f)"
	done
	echo "$_line"
}
