#!/usr/bin/env bash
# Host-KVM tier, seccomp: the test guests run with the per-thread filters on
# (the default) and exit 0; a running ignis shows "Seccomp: 2" on every
# thread once the microVM is started (the VMM thread only from then on) and
# 0 everywhere with --no-seccomp; a custom policy that forbids KVM_RUN kills
# ignis with 148 and the bad-syscall log line; bad policies and flag clashes
# are refused. Prints each thread's allowlist size.
set -uo pipefail

ignis=${1:?usage: test-seccomp.sh IGNIS HELLO_ELF TICKER_ELF}
hello=${2:?usage: test-seccomp.sh IGNIS HELLO_ELF TICKER_ELF}
ticker=${3:?usage: test-seccomp.sh IGNIS HELLO_ELF TICKER_ELF}
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
pass=0 fail=0

if [ ! -e /dev/kvm ]; then
	echo "SKIPPED: seccomp host-KVM tests: this machine has no /dev/kvm"
	exit 77
fi

check() { # name condition-result detail
	if [ "$2" = 0 ]; then
		echo "PASS: $1"; pass=$((pass + 1))
	else
		echo "FAIL: $1 ${3:-}"; fail=$((fail + 1))
	fi
}

# Every build is filtered by default, sanitizer builds included (their
# filters add what the sanitizer runtimes call: docs/seccomp.md).
stats=$("$ignis" --print-seccomp-stats)
check "the built-in policy is on by default" "$([ "$stats" != "seccomp is off" ]; echo $?)"
echo "Allowlist sizes (built-in policy):"
printf '%s\n' "$stats" | sed 's/^/  /'

cat >"$work/hello.json" <<JSON
{"boot-source": {"kernel_image_path": "$hello", "boot_args": "console=ttyS0"},
 "machine-config": {"vcpu_count": 2, "mem_size_mib": 64}}
JSON

# 1. The test guest, seccomp on by default: clean exit through the i8042 reset.
timeout 60 "$ignis" --no-api --config-file "$work/hello.json" </dev/null \
	>"$work/hello.out" 2>"$work/hello.err"
rc=$?
check "default seccomp: the test guest runs and ignis exits 0" "$([ $rc = 0 ]; echo $?)" \
	"(got $rc: $(tail -3 "$work/hello.err"))"
check "default seccomp: console shows the guest banner" \
	"$(grep -q 'Hello from the ignis test guest' "$work/hello.out"; echo $?)"

# Polls until the API socket answers; then configures and starts the ticker.
api() { # method path [body]
	curl -s --unix-socket "$work/api.sock" -o /dev/null -w '%{http_code}' -X "$1" \
		-H 'Content-Type: application/json' ${3:+-d "$3"} "http://localhost$2"
}
start_ticker() { # extra ignis args...
	rm -f "$work/api.sock"
	"$ignis" --api-sock "$work/api.sock" "$@" </dev/null >"$work/ticker.out" 2>"$work/ticker.err" &
	pid=$!
	for _ in $(seq 100); do [ -S "$work/api.sock" ] && break; sleep 0.05; done
}
boot_ticker() {
	api PUT /boot-source "{\"kernel_image_path\": \"$ticker\"}" >/dev/null
	api PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 32}' >/dev/null
	api PUT /actions '{"action_type": "InstanceStart"}'
}
# "name=Seccomp" for every thread of $pid.
thread_modes() {
	for t in /proc/"$pid"/task/*; do
		printf '%s=%s\n' "$(cat "$t/comm")" "$(awk '/^Seccomp:/ {print $2}' "$t/status")"
	done | sort
}
stop_ticker() {
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	pid=
}

# 2. Threads' seccomp modes, before and after InstanceStart.
start_ticker
modes=$(thread_modes)
check "before InstanceStart: the API thread is filtered, the VMM thread not yet" \
	"$(echo "$modes" | grep -q '^api=2$' && echo "$modes" | grep -q '^ignis=0$'; echo $?)" \
	"(${modes//$'\n'/ })"
code=$(boot_ticker)
check "InstanceStart with seccomp on answers 204" "$([ "$code" = 204 ]; echo $?)" "(got $code)"
sleep 0.3
modes=$(thread_modes)
echo "  threads: ${modes//$'\n'/ }"
check "after InstanceStart: every thread shows Seccomp: 2" \
	"$(echo "$modes" | grep -vq '=2$'; [ $? = 1 ] && echo "$modes" | grep -q '^vcpu1=2$'; echo $?)" \
	"(${modes//$'\n'/ })"
check "the filtered VMM thread still serves the API (GET /machine-config)" \
	"$([ "$(api GET /machine-config)" = 200 ]; echo $?)"
check "pause and resume work under the filters" \
	"$([ "$(api PATCH /vm '{"state": "Paused"}')" = 204 ] &&
	   [ "$(api PATCH /vm '{"state": "Resumed"}')" = 204 ]; echo $?)"
stop_ticker
check "filtered ignis exits on SIGTERM (143), no bad syscall" \
	"$([ $rc = 143 ] && ! grep -q 'bad syscall' "$work/ticker.err"; echo $?)" \
	"(got $rc: $(tail -2 "$work/ticker.err"))"

# 3. --no-seccomp: no thread is filtered.
start_ticker --no-seccomp
code=$(boot_ticker)
sleep 0.3
modes=$(thread_modes)
check "--no-seccomp: every thread shows Seccomp: 0" \
	"$([ "$code" = 204 ] && ! echo "$modes" | grep -vq '=0$'; echo $?)" "($code; ${modes//$'\n'/ })"
stop_ticker

# 4. A custom policy: the built-in shape, but the vCPU thread may not KVM_RUN.
cat >"$work/no-kvm-run.json" <<'JSON'
{
  "vmm": {"default_action": "allow", "filter_action": "trap", "filter": [{"syscall": "execve"}]},
  "api": {"default_action": "allow", "filter_action": "trap", "filter": [{"syscall": "execve"}]},
  "vcpu": {
    "default_action": "allow",
    "filter_action": "trap",
    "filter": [
      {"syscall": "ioctl", "comment": "KVM_RUN",
       "args": [{"index": 1, "type": "dword", "op": "eq", "val": 44672}]}
    ]
  }
}
JSON
timeout 60 "$ignis" --no-api --config-file "$work/hello.json" --seccomp-filter "$work/no-kvm-run.json" \
	</dev/null >/dev/null 2>"$work/policy.err"
rc=$?
check "policy forbidding KVM_RUN: ignis exits 148" "$([ $rc = 148 ]; echo $?)" \
	"(got $rc: $(tail -2 "$work/policy.err"))"
check "policy forbidding KVM_RUN: the bad-syscall line names ioctl (16)" \
	"$(grep -q 'Shutting down VM after intercepting a bad syscall (16)\.' "$work/policy.err"; echo $?)" \
	"($(tail -2 "$work/policy.err"))"

# 5. Refusals: a bad policy (152, the problem named) and the flag clash (153).
echo '{"vmm": {}, "api": {}}' >"$work/bad.json"
"$ignis" --no-api --config-file "$work/hello.json" --seccomp-filter "$work/bad.json" \
	</dev/null >/dev/null 2>"$work/bad.err"
rc=$?
check "a bad policy file: exit 152 naming the problem" \
	"$([ $rc = 152 ] && grep -q 'default_action' "$work/bad.err"; echo $?)" \
	"(got $rc: $(cat "$work/bad.err"))"
"$ignis" --no-seccomp --seccomp-filter "$work/no-kvm-run.json" --print-seccomp-stats \
	>/dev/null 2>"$work/clash.err"
rc=$?
check "--no-seccomp with --seccomp-filter: exit 153" \
	"$([ $rc = 153 ] && grep -q 'mutually exclusive' "$work/clash.err"; echo $?)" "(got $rc)"

echo "seccomp: $pass passed, $fail failed"
[ "$fail" = 0 ]
