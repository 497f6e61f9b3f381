# shellcheck shell=sh
# L1 side (busybox sh in the test host) of the function guest, shared by
# tests/e2e/function.sh and tests/perf/warm-start.sh. The guest boots the
# function rootfs (scripts/guest/build-fn-rootfs.sh) read-only with eth0 on
# tap0 (L1 172.16.0.1/30, guest 172.16.0.2) and serves POST /invoke on port
# 8080; fn-invoke (tests/perf/fn-invoke.c) plays the platform: it starts a
# command (a VMM, a load request, a QMP write) and times it to the first
# 200. Every result line is "<TAG> FN_..." (fn-invoke's own lines, FN_RC,
# FN_LOG for ignis's log lines that carry a time).
#
# Before sourcing, set IGNIS, CTL, FNI (the binaries in L1) and, for Uffd,
# UFFD_HANDLER; /bed/fn.json is ignis's config file; for QEMU,
# /bed/fn-qemu.sh CONSOLE [QEMU args] starts QEMU with QMP on stdio.

mkdir -p /run
SNAP_STATE=/bed/fn.state
SNAP_MEM=/bed/fn.mem
Q_MIG=/bed/q.mig

fn_wait_sock() {
	_i=0
	while [ ! -S "$1" ] && [ "$_i" -lt 200 ]; do sleep 0.05; _i=$((_i + 1)); done
	[ -S "$1" ]
}

# fn_gone PID: not running any more (gone, or a zombie nobody reaped yet:
# fn-invoke does not wait for what it starts).
fn_gone() {
	[ ! -d "/proc/$1" ] && return 0
	case $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) in Z | X | "") return 0 ;; esac
	return 1
}
# fn_kill PID: SIGKILL, as a crash would, and wait until it is gone (5 s).
fn_kill() {
	[ -n "$1" ] || return 0
	kill -9 "$1" 2>/dev/null
	_i=0
	while ! fn_gone "$1" && [ "$_i" -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	wait "$1" 2>/dev/null
	return 0
}

# fn_net_up: tap0 for the guest, and a permanent neighbour entry for its
# MAC: a platform knows it, and without it the first SYN would wait for an
# ARP retry (1 s) whenever the guest was not up at the first request.
fn_net_up() {
	net_tap tap0 172.16.0.1/30
	$IP neigh replace 172.16.0.2 lladdr 06:00:ac:10:00:02 dev tap0 nud permanent ||
		echo "FN_STEP_FAILED neighbour entry"
}

# fn_invoke TAG BODY COUNT [fn-invoke options] [-- CMD...]: fn-invoke with stdin from
# /dev/null, its lines prefixed "TAG "; the command's output goes to
# /bed/TAG.cmd. Sets fn_pid (the command's pid) and fn_rc.
fn_invoke() {
	_tag=$1
	_body=$2
	_n=$3
	shift 3
	$FNI -d "$_body" -n "$_n" -t 240 -o "/bed/$_tag.cmd" "$@" </dev/null >"/bed/$_tag.fi" 2>&1
	fn_rc=$?
	echo "$_tag FN_RC $fn_rc"
	sed "s/^/$_tag /" "/bed/$_tag.fi"
	fn_pid=$(sed -n 's/^FN_SPAWN pid=//p' "/bed/$_tag.fi")
}

# fn_ignis_log TAG FILE: ignis's timing lines and its warnings/errors.
fn_ignis_log() {
	grep -a -E 'first vCPU exit|API server listening|pre-warmed|snapshot (create|load|rewind)|working set|ERROR|WARN' "$2" |
		tail -n 12 | sed "s/^/$1 FN_LOG /"
}

ctl() {
	_s=$1
	shift
	$CTL --api-sock "$_s" --timeout 300 "$@"
}

# fn_ig_cold TAG BODY COUNT [CONFIG]: ignis boots the guest from CONFIG
# (default /bed/fn.json), API on /run/fn.sock, timed from the exec of
# ignis. Sets ig_pid.
fn_ig_cold() {
	rm -f /run/fn.sock
	fn_invoke "$1" "$2" "$3" -- "$IGNIS" --api-sock /run/fn.sock --config-file "${4:-/bed/fn.json}"
	ig_pid=$fn_pid
}

# fn_ig_snapshot TAG: pause, Full snapshot to SNAP_STATE/SNAP_MEM, SIGKILL.
fn_ig_snapshot() {
	rm -f "$SNAP_STATE" "$SNAP_MEM"
	if ctl /run/fn.sock pause >/dev/null && ctl /run/fn.sock snapshot-create "$SNAP_STATE" "$SNAP_MEM" >/dev/null; then
		echo "$1 FN_SNAPSHOT ok $(stat -c %s "$SNAP_MEM") bytes"
	else
		echo "$1 FN_STEP_FAILED snapshot-create"
	fi
	fn_kill "$ig_pid"
	fn_ignis_log "$1" "/bed/$1.cmd"
}

# fn_ig_load TAG BODY COUNT File|Uffd [LOAD FLAGS]: a fresh ignis (started
# first, not timed), then the load request with resume_vm, timed to the
# first 200; the invocation is sent once the load request has been answered.
# With UFFD_WS set, the Uffd handler prefetches that working-set file.
fn_ig_load() {
	_mem=$SNAP_MEM
	_flag=""
	h_pid=""
	if [ "$4" = Uffd ]; then
		rm -f /run/uffd.sock
		"$UFFD_HANDLER" /run/uffd.sock "$SNAP_MEM" ${UFFD_WS:+--working-set "$UFFD_WS"} \
			>"/bed/$1.uffd" 2>&1 &
		h_pid=$!
		fn_wait_sock /run/uffd.sock || echo "$1 FN_STEP_FAILED uffd handler socket"
		_mem=/run/uffd.sock
		_flag=--uffd
	fi
	rm -f /run/fn.sock
	"$IGNIS" --api-sock /run/fn.sock </dev/null >"/bed/$1.con" 2>&1 &
	ig_pid=$!
	fn_wait_sock /run/fn.sock || echo "$1 FN_STEP_FAILED no API socket"
	fn_invoke "$1" "$2" "$3" -w -- "$CTL" --api-sock /run/fn.sock --timeout 240 \
		snapshot-load "$SNAP_STATE" "$_mem" --resume $_flag ${5:+"$5"}
	grep -a -q . "/bed/$1.cmd" && sed "s/^/$1 FN_LOAD_ANSWER /" "/bed/$1.cmd" | head -n 3
}

# fn_ig_prewarm TAG [STATE]: ignis started with --prewarm STATE (default
# SNAP_STATE); not timed: its API socket appears once the microVM is built.
fn_ig_prewarm() {
	rm -f /run/fn.sock
	"$IGNIS" --api-sock /run/fn.sock --prewarm "${2:-$SNAP_STATE}" </dev/null >"/bed/$1.con" 2>&1 &
	ig_pid=$!
	h_pid=""
	fn_wait_sock /run/fn.sock || echo "$1 FN_STEP_FAILED no API socket after --prewarm"
}

# fn_ig_load_into TAG BODY COUNT: the File load of SNAP_STATE into the
# ignis already on /run/fn.sock, timed to the first 200 as in fn_ig_load.
fn_ig_load_into() {
	fn_invoke "$1" "$2" "$3" -w -- "$CTL" --api-sock /run/fn.sock --timeout 240 \
		snapshot-load "$SNAP_STATE" "$SNAP_MEM" --resume
	grep -a -q . "/bed/$1.cmd" && sed "s/^/$1 FN_LOAD_ANSWER /" "/bed/$1.cmd" | head -n 3
}

# fn_load_json STATE MEM [WORKING_SET]: a File load body with resume_vm.
fn_load_json() {
	echo "{\"snapshot_path\": \"$1\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$2\"}, \"resume_vm\": true${3:+, \"working_set_path\": \"$3\"}}"
}

# fn_ig_start TAG: a fresh ignis on /run/fn.sock (not timed).
fn_ig_start() {
	rm -f /run/fn.sock
	"$IGNIS" --api-sock /run/fn.sock </dev/null >"/bed/$1.con" 2>&1 &
	ig_pid=$!
	h_pid=""
	fn_wait_sock /run/fn.sock || echo "$1 FN_STEP_FAILED no API socket"
}

# fn_ig_load_ws TAG BODY COUNT WORKING_SET: the File load of SNAP_STATE with
# working_set_path into the ignis on /run/fn.sock, timed as fn_ig_load.
fn_ig_load_ws() {
	fn_invoke "$1" "$2" "$3" -w -- "$CTL" --api-sock /run/fn.sock --timeout 240 \
		raw PUT /snapshot/load "$(fn_load_json "$SNAP_STATE" "$SNAP_MEM" "$4")"
	grep -a -q . "/bed/$1.cmd" && sed "s/^/$1 FN_LOAD_ANSWER /" "/bed/$1.cmd" | head -n 3
}

# fn_ig_rewind TAG BODY COUNT: PUT /snapshot/rewind with resume_vm on the
# ignis on /run/fn.sock, timed to the first 200 after it.
fn_ig_rewind() {
	fn_invoke "$1" "$2" "$3" -w -- "$CTL" --api-sock /run/fn.sock --timeout 120 \
		snapshot-rewind --resume
	grep -a -q . "/bed/$1.cmd" && sed "s/^/$1 FN_LOAD_ANSWER /" "/bed/$1.cmd" | head -n 3
}

# fn_ig_stop TAG: SIGKILL the loaded ignis (and its Uffd handler).
fn_ig_stop() {
	fn_kill "$ig_pid"
	fn_ignis_log "$1" "/bed/$1.con"
	if [ -n "$h_pid" ]; then
		# It exits by itself once ignis is gone, after its last words.
		_i=0
		while ! fn_gone "$h_pid" && [ "$_i" -lt 40 ]; do sleep 0.05; _i=$((_i + 1)); done
		fn_kill "$h_pid"
		grep -a 'prefetched\|faults; exiting' "/bed/$1.uffd" | sed "s/^/$1 FN_UFFD /"
		tail -n 3 "/bed/$1.uffd" | sed "s/^/$1 FN_UFFD_TAIL /"
	fi
}

# --- QEMU -M microvm, the same guest (tests/perf/warm-start.sh) -------------

# In a subshell: should QEMU be gone, SIGPIPE ends that, not this script.
qmp() { (echo "$1" >&3) 2>/dev/null; }
# fn_wait_for FILE ERE LIMIT_S
fn_wait_for() {
	_i=0
	while ! grep -aEq "$2" "$1" 2>/dev/null; do
		[ "$_i" -ge $(($3 * 10)) ] && return 1
		sleep 0.1
		_i=$((_i + 1))
	done
}
fn_q_fifo() {
	rm -f /run/q.in
	mkfifo /run/q.in
}

# fn_q_cold TAG BODY COUNT: QEMU boots the guest, timed from its exec; its
# QMP answers are in /bed/TAG.cmd. Sets q_pid, leaves fd 3 on its QMP.
fn_q_cold() {
	fn_q_fifo
	rm -f "/bed/$1.cmd"
	# fn-invoke's stdin is QEMU's QMP: the FIFO (opened once fd 3 is).
	$FNI -d "$2" -n "$3" -t 240 -o "/bed/$1.cmd" -- sh /bed/fn-qemu.sh "/bed/$1.con" \
		</run/q.in >"/bed/$1.fi" 2>&1 &
	_fi=$!
	exec 3>/run/q.in
	qmp '{"execute": "qmp_capabilities"}'
	qmp '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "events", "state": true}]}}'
	wait "$_fi"
	fn_rc=$?
	echo "$1 FN_RC $fn_rc"
	sed "s/^/$1 /" "/bed/$1.fi"
	q_pid=$(sed -n 's/^FN_SPAWN pid=//p' "/bed/$1.fi")
}

# fn_q_save TAG: stop, migrate to /bed/q.mig, quit.
fn_q_save() {
	rm -f "$Q_MIG"
	qmp '{"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": 107374182400}}'
	qmp '{"execute": "stop", "id": "stop"}'
	fn_wait_for "/bed/$1.cmd" '"id": ?"stop"' 60
	qmp "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"exec:cat > $Q_MIG\"}, \"id\": \"mig\"}"
	if fn_wait_for "/bed/$1.cmd" '"status": ?"completed"' 300; then
		echo "$1 FN_SNAPSHOT ok $(stat -c %s "$Q_MIG") bytes"
	else
		echo "$1 FN_STEP_FAILED migrate"
	fi
	fn_q_quit "$q_pid"
}
fn_q_quit() {
	qmp '{"execute": "quit"}'
	exec 3>&-
	_i=0
	while ! fn_gone "$1" && [ "$_i" -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
	fn_kill "$1"
}

# fn_q_load TAG BODY COUNT: a fresh QEMU with -incoming defer (not timed),
# then migrate-incoming, timed to the first 200.
fn_q_load() {
	fn_q_fifo
	sh /bed/fn-qemu.sh "/bed/$1.con" -incoming defer </run/q.in >"/bed/$1.qmp" 2>&1 &
	q_pid=$!
	exec 3>/run/q.in
	qmp '{"execute": "qmp_capabilities", "id": "caps"}'
	fn_wait_for "/bed/$1.qmp" '"id": ?"caps"' 60 || echo "$1 FN_STEP_FAILED QMP"
	fn_invoke "$1" "$2" "$3" -- sh -c \
		"echo '{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"exec:cat $Q_MIG\"}}' >&3"
	fn_q_quit "$q_pid"
}
