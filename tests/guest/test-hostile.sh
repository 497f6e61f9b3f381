#!/usr/bin/env bash
# Host-KVM tier: the hostile-guest suite. The hostile test guest (hostile.c)
# runs one scenario per ignis process, named on the kernel command line
# (hostile=<name>), doing to the devices what a malicious driver would:
#   loop       descriptor chains whose next points back (also in an indirect table)
#   long       chains longer than the queue, next/head indices out of range,
#              indirect tables longer than any chain (and a legal 256-long chain)
#   indirect   nested indirect descriptors, indirect tables of bad length or
#              address, INDIRECT with NEXT, indirect without negotiating it
#   addr       buffers outside RAM, straddling its end, in the MMIO gap,
#              wrapping 2^64, huge lengths, bad header and status descriptors
#   avail      the avail index far ahead, backwards, and whole rings at once
#   reprogram  QueueDesc/QueueNum/QueueReady rewritten after DRIVER_OK and a
#              kick; queues that do not exist selected, enabled, notified;
#              rings on top of each other, a table across the end of RAM
#   alias      a 4064 MiB read whose 254 descriptors name one 16 MiB buffer
#              (Sync and Async; legal, so it must be served), the same as a
#              write past the end, GET_ID into it, a chain over 2^32 bytes, a
#              read onto the rings themselves
#   sector     sectors near 2^64 and where sector * 512 wraps
#   flood      1500 reads of 16 MiB, eight always in flight: the device never
#              finds its ring empty (the midway pause must still answer fast)
#   mmio       100000 random accesses (every width) to the drive's window and
#              to a virtio-net's (in a private network namespace with a TAP,
#              when this script can make one), then the boot timer and empty slots
#   net        (with a TAP) TX chains that loop, leave RAM, are device-writable,
#              shorter than the header or 128 MiB long; RX buffers that are
#              readable, too short, outside RAM or loop; and a frame (the
#              script pings tap0's broadcast) left half-delivered in three
#              12-byte buffers (MRG_RXBUF) for the snapshot
#   uart       100000 random accesses to COM1's eight ports
#   i8042      100000 random accesses to ports 0x60-0x64 (no reset command)
#   status     undefined status bits, FAILED, DRIVER_OK before FEATURES_OK,
#              bits taken away, resets right after a kick (500 times)
#   resets     2000 full bring-ups and 5000 bare resets
# A scenario ends with "hostile: <name> done", the devices left as it broke
# them; the guest then polls COM1 for a byte from the console's stdin, resets
# the drive, checks it serves a well-formed read again, answers "hostile: bye"
# and resets the machine (i8042).
# After each scenario, with the API:
#   - the guest printed no "hostile: FAIL" (a hostile request answered OK,
#     or, after the byte, a reset drive that no longer serves a well-formed
#     read: checked in the original and in the restored VM);
#   - ignis is alive, GET / answers 200, its log (PUT /logger, Warning) and
#     stderr each stayed under 64 KiB;
#   - pause answers 204 within 2 s, and a Full snapshot create 204;
#   - a fresh ignis loads the snapshot with resume_vm (204), is alive, answers
#     GET / with "Running"; both processes, given their byte (the first one
#     resumed), print "hostile: bye" and exit 0, the documented code of a
#     guest reset;
#   - the drive's backing file gained no more than 1 MiB of blocks.
# The storms (flood, mmio, uart, i8042, resets) are also paused and snapshotted half
# a second in (204s, then resumed); after the checks above a third ignis loads
# that midway snapshot and must run the storm to its end, answer the byte
# and exit 0 too.
#
# Counts above are for a fast /dev/kvm: where exits are slow (the first
# scenario took over 10 s, e.g. the nested bed) or IGNIS_HOSTILE_SCALE=N says
# so, the storms and reset loops run 1/N of them (hostile_scale=N).
#
# usage: test-hostile.sh IGNIS HOSTILE_ELF [SCENARIO[:Sync|:Async]...]
set -uo pipefail

ignis=${1:?usage: test-hostile.sh IGNIS HOSTILE_ELF [SCENARIO...]}
guest=${2:?usage: test-hostile.sh IGNIS HOSTILE_ELF [SCENARIO...]}
shift 2

if [ ! -e /dev/kvm ]; then
	echo "SKIPPED: hostile guest: this machine has no /dev/kvm (the nested e2e tier still runs)"
	exit 77
fi
# A private network namespace for the mmio scenario's TAPs, when we may make one.
if [ -z "${IGNIS_HOSTILE_NETNS:-}" ] && unshare --net true 2>/dev/null; then
	IGNIS_HOSTILE_NETNS=1 exec unshare --net "$0" "$ignis" "$guest" "$@"
fi
if [ -d /sys/module/kvm_pvm ]; then
	echo "NOTE: /dev/kvm is PVM: the hostile guest polls with interrupts off"
fi
[ -f "$guest" ] || { echo "FAIL: test guest $guest missing (build target test_guest)"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$work" "${disk_dir:-}"
}
trap cleanup EXIT
pass=0 fail=0
log_limit=65536

check() { # name condition-result detail
	if [ "$2" = 0 ]; then
		echo "PASS: $1"; pass=$((pass + 1))
	else
		echo "FAIL: $1 ${3:-}"; fail=$((fail + 1))
	fi
}

net=false
if [ -n "${IGNIS_HOSTILE_NETNS:-}" ] &&
	ip tuntap add tap0 mode tap 2>/dev/null && ip tuntap add tap1 mode tap 2>/dev/null &&
	ip link set tap0 up && ip link set tap1 up && ip addr add 10.99.0.1/24 dev tap0; then
	net=true
else
	echo "NOTE: no private network namespace with TAPs here: the mmio scenario storms the drive only, the net scenario does not run"
fi

# An 8 GiB sparse disk (the alias scenario reads 4 GiB of it), marker at 0;
# on tmpfs when there is one: holes read several times faster there.
disk_dir=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
disk=$disk_dir/disk.img
truncate -s 8G "$disk"
printf 'IGNIS-HOSTDATA-SECTOR0' | dd of="$disk" conv=notrunc status=none
disk_blocks=$(stat -c %b "$disk")

# api SOCK METHOD PATH [BODY]: prints the HTTP status, the body to SOCK.body.
api() {
	local body=()
	[ $# -ge 4 ] && body=(-H 'Content-Type: application/json' -d "$4")
	curl -s --max-time 30 --unix-socket "$1" -X "$2" -o "$1.body" -w '%{http_code}' \
		"${body[@]}" "http://localhost$3"
}

# start DIR: an ignis with its API in DIR, stdin on DIR/in (held open on fd
# DIR's number in $in_fd), console in DIR/console, stderr in DIR/stderr.
start() {
	local dir=$1
	mkdir -p "$dir"
	mkfifo "$dir/in"
	"$ignis" --api-sock "$dir/api.sock" <"$dir/in" >"$dir/console" 2>"$dir/stderr" &
	started=$!
	pids+=("$started")
	exec {in_fd}>"$dir/in"
	for _ in $(seq 200); do [ -S "$dir/api.sock" ] && return 0; sleep 0.05; done
	return 1
}

# wait_line FILE PATTERN PID SECONDS: until FILE has a line matching PATTERN.
wait_line() {
	local deadline=$((SECONDS + $4))
	while [ $SECONDS -lt $deadline ]; do
		grep -aq "$2" "$1" && return 0
		kill -0 "$3" 2>/dev/null || { grep -aq "$2" "$1"; return; }
		sleep 0.1
	done
	return 1
}

# finish NAME PID FD: the guest's byte, then exit 0 after "hostile: bye".
finish() {
	local label=$1 pid=$2 fd=$3 dir=$4 rc
	echo q >&"$fd"
	wait_line "$dir/console" '^hostile: bye' "$pid" 30
	check "$label: the guest answers its byte (hostile: bye)" "$?" \
		"(console tail: $(tail -c 300 "$dir/console" | tr -c '[:print:]' '.'))"
	check "$label: no FAIL from the guest (its drive recovers after a reset)" \
		"$(! grep -aq '^hostile: FAIL' "$dir/console"; echo $?)" \
		"($(grep -a -A1 '^hostile: FAIL' "$dir/console" | head -6 | tr '\n' '|'))"
	for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		check "$label: exits after the guest's reset" 1 "(still running after 30 s; killed)"
	fi
	wait "$pid"
	rc=$?
	exec {fd}>&-
	check "$label: exit code 0 (guest reset through the i8042)" "$([ $rc = 0 ]; echo $?)" \
		"(got $rc; stderr: $(tail -3 "$dir/stderr"))"
}

logs_bounded() { # label dir
	local log=0 err
	[ -f "$2/log" ] && log=$(stat -c %s "$2/log")
	err=$(stat -c %s "$2/stderr")
	check "$1: log ($log bytes) and stderr ($err bytes) under 64 KiB" \
		"$([ "$log" -lt $log_limit ] && [ "$err" -lt $log_limit ]; echo $?)" \
		"(log head: $(head -c 400 "$2/log" 2>/dev/null))"
}

alive_and_answering() { # label dir pid [state]
	local s
	check "$1: ignis alive" "$(kill -0 "$3" 2>/dev/null; echo $?)"
	s=$(api "$2/api.sock" GET /)
	check "$1: GET / answers 200${4:+ with state $4}" \
		"$([ "$s" = 200 ] && { [ -z "${4:-}" ] || grep -q "\"state\": *\"$4\"" "$2/api.sock.body"; }; echo $?)" \
		"(got $s: $(cat "$2/api.sock.body" 2>/dev/null))"
}

# snapshot LABEL DIR PID NAME: pause, Full snapshot to DIR/NAME.{state,mem}.
snapshot() {
	local s t0 ms
	t0=$(date +%s%N)
	s=$(api "$2/api.sock" PATCH /vm '{"state": "Paused"}')
	ms=$((($(date +%s%N) - t0) / 1000000))
	check "$1: pause answers 204 within 2 s ($ms ms)" \
		"$([ "$s" = 204 ] && [ $ms -lt 2000 ]; echo $?)" "(got $s: $(cat "$2/api.sock.body"))"
	s=$(api "$2/api.sock" PUT /snapshot/create "{\"snapshot_type\": \"Full\",
		\"snapshot_path\": \"$dir/$4.state\", \"mem_file_path\": \"$dir/$4.mem\"}")
	check "$1: Full snapshot create answers 204" "$([ "$s" = 204 ]; echo $?)" \
		"(got $s: $(cat "$2/api.sock.body"))"
}

# restore LABEL DIR NAME [to-the-end]: a fresh ignis in DIR loads
# $dir/NAME.*, resumed; with to-the-end, waits for the scenario to finish
# there; then its byte.
restore() {
	local label=$1 d=$2 s pb fb overrides=""
	start "$d" || { check "$label: API socket" 1; return; }
	pb=$started fb=$in_fd
	[ "$with_net" = true ] &&
		overrides=', "network_overrides": [{"iface_id": "eth0", "host_dev_name": "tap1"}]'
	s=$(api "$d/api.sock" PUT /logger "{\"log_path\": \"$d/log\", \"level\": \"Warning\"}")
	s+=" $(api "$d/api.sock" PUT /snapshot/load "{\"snapshot_path\": \"$dir/$3.state\",
		\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$dir/$3.mem\"},
		\"resume_vm\": true$overrides}")"
	check "$label: a fresh ignis loads the snapshot and resumes (204)" \
		"$([ "$s" = "204 204" ]; echo $?)" "(got $s: $(cat "$d/api.sock.body"); stderr: $(tail -3 "$d/stderr"))"
	alive_and_answering "$label" "$d" "$pb" Running
	if [ -n "${4:-}" ]; then
		wait_line "$d/console" "^hostile: $name done" "$pb" 240
		check "$label: the scenario goes on to its end" "$?" \
			"(console tail: $(tail -c 400 "$d/console" | tr -c '[:print:]\n' '.'))"
	fi
	finish "$label" "$pb" "$fb" "$d"
	logs_bounded "$label" "$d"
	rm -f "$dir/$3.mem"
}

# Scenarios long enough to be snapshotted in the middle as well.
midway=" flood mmio uart i8042 resets "

run() { # scenario engine
	local name=$1 engine=$2 label="$1 ($2)" a pa fa s t0=$SECONDS with_net=false mid=""
	dir=$work/$name-$engine
	a=$dir/a
	case $name in mmio | net) with_net=$net ;; esac
	if [ "$name" = net ] && [ "$net" != true ]; then
		echo "NOTE: net scenario not run: no TAP here"
		return
	fi

	start "$a" || { check "$label: API socket of the first ignis" 1; return; }
	pa=$started fa=$in_fd
	s=$(api "$a/api.sock" PUT /logger "{\"log_path\": \"$a/log\", \"level\": \"Warning\"}")
	s+=" $(api "$a/api.sock" PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}')"
	s+=" $(api "$a/api.sock" PUT /boot-source \
		"{\"kernel_image_path\": \"$guest\", \"boot_args\": \"console=ttyS0 hostile=$name hostile_scale=${scale:-1}\"}")"
	s+=" $(api "$a/api.sock" PUT /drives/blk0 "{\"drive_id\": \"blk0\", \"path_on_host\": \"$disk\",
		\"is_root_device\": false, \"is_read_only\": false, \"io_engine\": \"$engine\"}")"
	if [ "$with_net" = true ]; then
		s+=" $(api "$a/api.sock" PUT /network-interfaces/eth0 \
			'{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "06:00:ac:10:00:02"}')"
	fi
	s+=" $(api "$a/api.sock" PUT /actions '{"action_type": "InstanceStart"}')"
	check "$label: configured and started (all 204)" "$([[ $s =~ ^(204 ?)+$ ]]; echo $?)" \
		"(got $s: $(cat "$a/api.sock.body"); stderr: $(tail -3 "$a/stderr"))"
	# Frames for the guest's RX ring: broadcast pings out of tap0.
	local pinger=""
	if [ "$name" = net ]; then
		ping -q -b -I tap0 -i 0.2 -c 150 10.99.0.255 >/dev/null 2>&1 &
		pinger=$!
	fi

	if [[ $midway == *" $name "* ]] && wait_line "$a/console" '^hostile: guest up' "$pa" 30; then
		sleep 0.5
		snapshot "$label, midway" "$a" "$pa" mid
		grep -aq "^hostile: $name done" "$a/console" || mid=yes
		s=$(api "$a/api.sock" PATCH /vm '{"state": "Resumed"}')
		check "$label, midway: resume answers 204" "$([ "$s" = 204 ]; echo $?)" "(got $s)"
	fi

	wait_line "$a/console" "^hostile: $name done" "$pa" 240
	check "$label: the guest reports the scenario done" "$?" \
		"(console tail: $(tail -c 400 "$a/console" | tr -c '[:print:]\n' '.'))"
	check "$label: the guest saw no FAIL in the scenario" "$(! grep -aq '^hostile: FAIL' "$a/console"; echo $?)" \
		"($(grep -a -A1 '^hostile: FAIL' "$a/console" | head -6 | tr '\n' '|'))"
	grep -a "^hostile: $name: " "$a/console" | sed 's/^/  guest: /'
	[ -n "$pinger" ] && kill "$pinger" 2>/dev/null
	alive_and_answering "$label" "$a" "$pa"
	logs_bounded "$label" "$a"

	snapshot "$label" "$a" "$pa" vm
	restore "$label, restored" "$dir/b" vm
	s=$(api "$a/api.sock" PATCH /vm '{"state": "Resumed"}')
	check "$label: the first ignis resumes (204)" "$([ "$s" = 204 ]; echo $?)" "(got $s)"
	finish "$label" "$pa" "$fa" "$a"
	logs_bounded "$label, at exit" "$a"
	[ -n "$mid" ] && restore "$label, restored from midway" "$dir/c" mid to-the-end

	local grown=$(( ($(stat -c %b "$disk") - disk_blocks) * 512 ))
	check "$label: the drive's file gained at most 1 MiB of blocks ($grown bytes)" \
		"$([ $grown -le 1048576 ]; echo $?)"
	echo "TIME: $label: $((SECONDS - t0)) s"
}

all=(loop:Sync long:Async indirect:Sync addr:Async avail:Sync reprogram:Async alias:Sync
     alias:Async sector:Async flood:Sync flood:Async mmio:Sync net:Sync uart:Sync i8042:Sync
     status:Async resets:Async)
specs=("$@")
[ ${#specs[@]} = 0 ] && specs=("${all[@]}")
# The storms' counts are divided by $scale: IGNIS_HOSTILE_SCALE, or 10 when
# the first scenario shows exits are slow (the nested bed's TCG), else 1.
scale=${IGNIS_HOSTILE_SCALE:-}
for spec in "${specs[@]}"; do
	name=${spec%%:*} engine=${spec#*:}
	[ "$engine" = "$spec" ] && engine=Sync
	t=$SECONDS
	run "$name" "$engine"
	if [ -z "$scale" ]; then
		scale=1
		if [ $((SECONDS - t)) -gt 10 ]; then
			scale=10
			echo "NOTE: the first scenario took $((SECONDS - t)) s: storms and reset loops run a tenth as long"
		fi
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
