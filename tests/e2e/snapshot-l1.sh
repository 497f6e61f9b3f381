# shellcheck shell=sh
# L1 side (busybox sh in the test host) shared by the snapshot e2e tests:
# snapshot.sh, snapshot-devices.sh, snapshot-memory.sh. Before sourcing, set
# IGNIS (the ignis binary in L1) and STEP_TAG (the prefix of step lines,
# which the host side greps for "<TAG>_STEP_FAILED").

mkdir -p /run

# start_ignis SOCKET CONSOLE: ignis with its API on SOCKET, the guest console
# in CONSOLE, stderr appended to /bed/ignis.err; sets pid; waits (5 s at
# most) for the socket.
start_ignis() {
	$IGNIS --api-sock "$1" </dev/null >"$2" 2>>/bed/ignis.err &
	pid=$!
	_i=0
	while [ ! -S "$1" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
}

# step CMD...: run CMD, announced, and say so if it failed.
step() { echo "${STEP_TAG}_STEP $*"; "$@" || echo "${STEP_TAG}_STEP_FAILED $*"; }

# last / first CONSOLE: the guest's last / first "CNT <n>" value. Only the
# digits: a kernel message can finish the line ("CNT 4[   13.9] ..."), since
# the guest's printk and its tty output share the serial port. At least one
# digit: a pause can land right after "CNT " (that line then counts nothing).
last() { grep -a '^CNT [0-9][0-9]*' "$1" | tail -n1 | sed 's/^CNT \([0-9]*\).*/\1/'; }
first() { grep -a '^CNT [0-9][0-9]*' "$1" | head -n1 | sed 's/^CNT \([0-9]*\).*/\1/'; }

# A paused guest may be in the middle of a console line, which the restored
# guest then finishes: the source's console and the restored one are one
# stream, and counts are judged in it (a replayed or lost byte shows there).
# complete CONSOLE: its lines that ended (a last line without newline dropped).
complete() { if [ -n "$(tail -c 1 "$1")" ]; then sed '$d' "$1"; else cat "$1"; fi; }
# last_complete CONSOLE: the last "CNT <n>" value of a complete line.
last_complete() { complete "$1" | grep -a '^CNT [0-9]*' | tail -n1 | sed 's/^CNT \([0-9]*\).*/\1/'; }
# first_joined SOURCE RESTORED: the first "CNT <n>" of the joined stream after
# SOURCE's complete lines: what the restored guest printed first.
first_joined() {
	_k=$(complete "$1" | grep -ac '^CNT [0-9]*')
	cat "$1" "$2" | grep -a '^CNT [0-9]*' | sed -n "$((_k + 1))p" | sed 's/^CNT \([0-9]*\).*/\1/'
}
