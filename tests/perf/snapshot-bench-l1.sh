# shellcheck shell=sh
# The test-host (L1) side of tests/perf/snapshot-bench.sh: busybox sh, cwd
# /bed, sourced by the generated /bed/.script after it set RUNS, SIZES,
# HAVE_IGNIS, UFFD_HANDLER (empty: none) and the guest files. Prints cases
# (scripts/bed/case.sh format, timestamped by tstamp) and SB_* lines; the
# host side turns them into the table. Nothing here judges a time.
#
# Per size and run, ignis and QEMU take turns (order flipped every round):
#   ignis: boot, wait for the guest's FILL_DONE, pause, Full create (timed
#          ignis-ctl round trip), SIGKILL; a fresh ignis loads it (File,
#          resumed; timed round trip, and ignis's "first vCPU exit" line);
#          the same with the Uffd backend if this ignis has it; then a VM
#          with track_dirty_pages booted, Full create, 3 s of running, Diff
#          create (timed), if this ignis has Diff.
#   QEMU:  boot with -qmp stdio, wait for FILL_DONE, stop, migrate to
#          "exec:cat > file" (timed from the MIGRATION setup event to the
#          completed one); a fresh QEMU with -incoming defer,
#          migrate-incoming from the file (setup event to RESUME).
# shellcheck source=scripts/bed/case.sh
. /bed/case.sh

DIFF=1 # cleared by the first "not supported" answer
UFFD=1

# tcase NAME LIMIT CMD...: bed_case that also keeps the lines in /bed/last.out.
tcase() {
	_n=$1
	_l=$2
	shift 2
	echo "CASE_BEGIN $_n: $*"
	/bed/bin/tstamp -t "$_l" -- "$@" | sed "s/^/$_n /" | tee /bed/last.out
	echo "CASE_END $_n"
}
last_unsupported() { grep -q 'not supported' /bed/last.out; }

# Seconds since L1 booted, without a fork (under TCG each one costs).
uptime_s() {
	read -r _up _ </proc/uptime
	echo "${_up%.*}"
}
# wait_for FILE ERE LIMIT_S: the limit is wall time, not a count of polls.
wait_for() {
	_end=$(($(uptime_s) + $3))
	while ! grep -aEq "$2" "$1" 2>/dev/null; do
		[ "$(uptime_s)" -ge "$_end" ] && return 1
		sleep 0.1
	done
	return 0
}
# The last console lines of a guest that did not get there, for the report.
console_tail() { tail -n 5 "$2" 2>/dev/null | tr -d '\r' | sed "s/^/SB_CONSOLE $1 /"; }
wait_sock() {
	_i=0
	while [ ! -S "$1" ] && [ "$_i" -lt 200 ]; do sleep 0.05; _i=$((_i + 1)); done
}
# ticks FILE first|last: the guest's first or last TICK number in a console file.
ticks() {
	if [ "$2" = first ]; then _f="head -n1"; else _f="tail -n1"; fi
	grep -a '^TICK [0-9]*' "$1" 2>/dev/null | tr -d '\r' | $_f | cut -d' ' -f2
}

ctl() {
	_s=$1
	shift
	/bed/bin/ignis-ctl --api-sock "$_s" --timeout 600 "$@"
}

# ig_start SOCK TAG: a fresh ignis; console in /bed/TAG.con, log in /bed/TAG.log.
ig_start() {
	rm -f "$1"
	"/bed/bin/$IGNIS_NAME" --api-sock "$1" </dev/null >"/bed/$2.con" 2>"/bed/$2.log" &
	ig_pid=$!
	wait_sock "$1"
}
# ig_stop TAG: SIGKILL (as a crash would), then the log for the host side.
ig_stop() {
	kill -9 "$ig_pid" 2>/dev/null
	wait "$ig_pid" 2>/dev/null
	sed "s/^/SB_LOG $1 /" "/bed/$1.log"
	rm -f "/bed/$1.log"
}
# ig_boot SOCK TAG MIB TRACK: configure and start the guest.
ig_boot() {
	ig_start "$1" "$2"
	ctl "$1" raw PUT /boot-source "$(cat /bed/boot-source.json)" >/dev/null &&
		ctl "$1" raw PUT /machine-config \
			"{\"vcpu_count\": 1, \"mem_size_mib\": $3, \"track_dirty_pages\": $4}" >/dev/null &&
		ctl "$1" start >/dev/null
}
sizes_of() { # TAG STATE MEM
	echo "SB_SIZE $1 $(stat -c %s "$2") $(stat -c %s "$3") $(du -k "$2" | cut -f1) $(du -k "$3" | cut -f1)"
}

ig_diff() { # MIB RUN
	t=ig-$1-$2-diff
	if ! ig_boot /run/d.sock "$t" "$1" true; then
		echo "SB_FAIL $t: boot with track_dirty_pages failed"
		ig_stop "$t"
		return
	fi
	# The probe: a Diff request to the running VM. An ignis without Diff
	# says "not supported yet"; one with it, that the VM must be paused.
	tcase "$t-probe" 60 /bed/bin/ignis-ctl --api-sock /run/d.sock --timeout 60 \
		snapshot-create /bed/d.state /bed/d.mem --diff
	if last_unsupported; then
		echo "SB_UNSUPPORTED Diff"
		DIFF=0
		ig_stop "$t"
		return
	fi
	if ! wait_for "/bed/$t.con" ^FILL_DONE 240; then
		echo "SB_FAIL $t: no FILL_DONE"
		console_tail "$t" "/bed/$t.con"
		ig_stop "$t"
		return
	fi
	ctl /run/d.sock pause >/dev/null
	tcase "$t-full" 600 /bed/bin/ignis-ctl --api-sock /run/d.sock --timeout 600 \
		snapshot-create /bed/d.state /bed/d.mem
	ctl /run/d.sock resume >/dev/null
	sleep 3
	ctl /run/d.sock pause >/dev/null
	tcase "$t-create" 600 /bed/bin/ignis-ctl --api-sock /run/d.sock --timeout 600 \
		snapshot-create /bed/d2.state /bed/d2.mem --diff
	[ -f /bed/d2.mem ] && sizes_of "$t" /bed/d2.state /bed/d2.mem
	ig_stop "$t"
	rm -f /bed/d.state /bed/d.mem /bed/d2.state /bed/d2.mem
}

ig_run() { # MIB RUN
	t=ig-$1-$2
	if ! ig_boot /run/a.sock "$t" "$1" false || ! wait_for "/bed/$t.con" ^FILL_DONE 240; then
		echo "SB_FAIL $t: boot or FILL_DONE failed"
		console_tail "$t" "/bed/$t.con"
		ig_stop "$t"
		return
	fi
	ctl /run/a.sock pause >/dev/null
	sleep 0.5
	rm -f /bed/s.state /bed/s.mem
	tcase "$t-create" 600 /bed/bin/ignis-ctl --api-sock /run/a.sock --timeout 600 \
		snapshot-create /bed/s.state /bed/s.mem
	before=$(ticks "/bed/$t.con" last)
	ig_stop "$t"
	if [ ! -f /bed/s.mem ]; then
		echo "SB_FAIL $t: no memory file"
		return
	fi
	sizes_of "$t" /bed/s.state /bed/s.mem

	ig_start /run/b.sock "$t-loadf"
	tcase "$t-loadf" 600 /bed/bin/ignis-ctl --api-sock /run/b.sock --timeout 600 \
		snapshot-load /bed/s.state /bed/s.mem --resume
	sleep 2
	echo "SB_TICKS $t-loadf ${before:-?} $(ticks "/bed/$t-loadf.con" first) $(ticks "/bed/$t-loadf.con" last)"
	ig_stop "$t-loadf"

	if [ "$UFFD" = 1 ] && [ -n "$UFFD_HANDLER" ]; then
		rm -f /run/uffd.sock
		"$UFFD_HANDLER" /run/uffd.sock /bed/s.mem >/bed/uffd.log 2>&1 &
		h_pid=$!
		wait_sock /run/uffd.sock
		ig_start /run/c.sock "$t-loadu"
		tcase "$t-loadu" 600 /bed/bin/ignis-ctl --api-sock /run/c.sock --timeout 600 \
			snapshot-load /bed/s.state /run/uffd.sock --resume --uffd
		if last_unsupported; then
			echo "SB_UNSUPPORTED Uffd"
			UFFD=0
		else
			sleep 2
			echo "SB_TICKS $t-loadu ${before:-?} $(ticks "/bed/$t-loadu.con" first) $(ticks "/bed/$t-loadu.con" last)"
		fi
		ig_stop "$t-loadu"
		kill -9 "$h_pid" 2>/dev/null
		wait "$h_pid" 2>/dev/null
		sed 's/^/SB_UFFD_HANDLER /' /bed/uffd.log | tail -n 5
	fi
	rm -f /bed/s.state /bed/s.mem
	[ "$DIFF" = 1 ] && ig_diff "$1" "$2"
}

# In a subshell: should QEMU be gone, SIGPIPE ends that, not this script.
qmp() { (echo "$1" >&3) 2>/dev/null; }

# q_start TAG MIB [QEMU args]: QEMU under tstamp with QMP on a FIFO (fd 3
# here); its QMP output, timestamped, goes to the console and /bed/TAG.out.
q_start() {
	_t=$1
	_m=$2
	shift 2
	rm -f /run/q.in "/bed/$_t.out"
	mkfifo /run/q.in
	# tstamp flushes every line into the file, so wait_for sees each QMP
	# answer as it comes; the console gets the file, prefixed, in q_stop.
	/bed/bin/tstamp -t 600 -- sh /bed/qemu.sh "$_m" "/bed/$_t.con" "$@" </run/q.in >"/bed/$_t.out" &
	q_pid=$!
	q_tag=$_t
	exec 3>/run/q.in
	qmp '{"execute": "qmp_capabilities"}'
	qmp '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}]}}'
}
q_stop() {
	qmp '{"execute": "quit"}'
	exec 3>&-
	wait "$q_pid" 2>/dev/null
	echo "CASE_BEGIN $q_tag"
	sed "s/^/$q_tag /" "/bed/$q_tag.out"
	echo "CASE_END $q_tag"
	rm -f /run/q.in
}

q_run() { # MIB RUN
	t=q-$1-$2
	rm -f /bed/q.mig
	q_start "$t-save" "$1"
	if ! wait_for "/bed/$t-save.con" ^FILL_DONE 240; then
		echo "SB_FAIL $t: no FILL_DONE"
		console_tail "$t" "/bed/$t-save.con"
		q_stop
		return
	fi
	# Migration's default bandwidth cap (32 MiB/s) would measure the cap.
	qmp '{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 107374182400}}'
	qmp '{"execute": "stop", "id": "stop"}'
	wait_for "/bed/$t-save.out" '"id": ?"stop"' 60
	sleep 0.5
	qmp '{"execute": "migrate", "arguments": {"uri": "exec:cat > /bed/q.mig"}, "id": "mig"}'
	wait_for "/bed/$t-save.out" '"status": ?"(completed|failed|cancelled)"' 300 ||
		echo "SB_FAIL $t: migration did not finish"
	before=$(ticks "/bed/$t-save.con" last)
	q_stop
	if [ ! -f /bed/q.mig ]; then
		echo "SB_FAIL $t: no migration file"
		return
	fi
	echo "SB_QSIZE $t $(stat -c %s /bed/q.mig) $(du -k /bed/q.mig | cut -f1)"

	q_start "$t-load" "$1" -incoming defer
	qmp '{"execute": "migrate-incoming", "arguments": {"uri": "exec:cat /bed/q.mig"}, "id": "inc"}'
	if wait_for "/bed/$t-load.out" '"event": ?"RESUME"' 300; then
		sleep 2
		echo "SB_TICKS $t-load ${before:-?} $(ticks "/bed/$t-load.con" first) $(ticks "/bed/$t-load.con" last)"
	else
		echo "SB_FAIL $t: no RESUME after migrate-incoming"
	fi
	q_stop
	rm -f /bed/q.mig
}

mkdir -p /run
# As net-throughput.sh: no THP in L1, so both VMMs' guest RAM is backed alike
# (QEMU madvises its RAM for THP, ignis does not by default).
echo never >/sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null
echo "SB_L1 $(grep -c ^processor /proc/cpuinfo) cpu, $(awk '/^MemTotal/ { print $2 }' /proc/meminfo) kB, $($BED_QEMU --version | head -n1)"

# shellcheck disable=SC2086 # one argument per size
bed_case floor-l1 300 /bed/bin/kvm-floor --label L1-kvm-amd --runs 5 $SIZES

for size in $SIZES; do
	for i in $(seq 1 "$RUNS"); do
		if [ $((i % 2)) = 1 ]; then order="ignis qemu"; else order="qemu ignis"; fi
		for v in $order; do
			if [ "$v" = ignis ]; then
				[ "$HAVE_IGNIS" = 1 ] && ig_run "$size" "$i"
			else
				q_run "$size" "$i"
			fi
		done
	done
done
echo "SB_DONE"
