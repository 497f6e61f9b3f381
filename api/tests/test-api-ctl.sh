#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# curl and ignis-ctl against api-test-server (the real API server in front of
# a fake VMM): what orchestrators and people type, end to end through the
# socket. usage: test-api-ctl.sh API_TEST_SERVER IGNIS_CTL
set -uo pipefail

server=${1:?usage: test-api-ctl.sh API_TEST_SERVER IGNIS_CTL}
ctl=${2:?usage: test-api-ctl.sh API_TEST_SERVER IGNIS_CTL}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
work=$(mktemp -d /tmp/ignis-api-ctl-XXXXXX)
sock=$work/api.sock
pid=
pass=0 fail=0

stop_server() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		pid=
	fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# A fresh server (fresh fake-VMM state) for each group of checks.
start_server() {
	stop_server
	"$server" "$sock" "$@" 2>"$work/server.err" &
	pid=$!
	for _ in $(seq 100); do
		[ -S "$sock" ] && return 0
		sleep 0.05
	done
	echo "FAIL: api-test-server did not start: $(cat "$work/server.err")"
	exit 1
}

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
bad() {
	echo "FAIL: $1"
	shift
	for f in "$@"; do sed 's/^/    /' "$f" | head -8; done
	fail=$((fail + 1))
}

# run LABEL WANT_RC STDERR_REGEX -- CMD...: exit code and a line on stderr (or stdout).
run() {
	local label=$1 want=$2 re=$3
	shift 4
	timeout 20 "$@" >"$work/out" 2>"$work/err" </dev/null
	local rc=$?
	if [ "$rc" = "$want" ] && { [ -z "$re" ] || grep -Eq -- "$re" "$work/err" "$work/out"; }; then
		ok "$label"
	else
		echo "    (exit $rc, want $want, /$re/)"
		bad "$label" "$work/err" "$work/out"
	fi
}

# jcheck LABEL PYTHON-EXPR FILE: a Python expression over the JSON in FILE (as j).
jcheck() {
	if "$py" -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
		"$3" 2>"$work/py.err"; then
		ok "$1"
	else
		bad "$1" "$3" "$work/py.err"
	fi
}

curl_api() { curl -sS --max-time 20 --unix-socket "$sock" "$@"; }

# ------------------------------------------------------------------ curl
start_server --max-payload 4096

curl_api -i http://localhost/ >"$work/out"
if grep -q '^HTTP/1.1 200' "$work/out" && grep -q '^Server: Firecracker API' "$work/out" &&
	grep -q '"state":"Not started"' "$work/out"; then
	ok "curl GET / is 200 with InstanceInfo and Firecracker's Server header"
else
	bad "curl GET /" "$work/out"
fi

code=$(curl_api -o "$work/out" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
	-d '{"vcpu_count": 2, "mem_size_mib": 256}' http://localhost/machine-config)
[ "$code" = 204 ] && [ ! -s "$work/out" ] && ok "curl PUT /machine-config is 204 with no body" ||
	bad "curl PUT /machine-config: $code" "$work/out"

code=$(curl_api -o "$work/out" -w '%{http_code}' -X PUT http://localhost/boot-source)
[ "$code" = 400 ] && grep -q '{"fault_message":"Empty PUT request."}' "$work/out" &&
	ok "curl PUT without a body is 400 Empty PUT request." || bad "curl empty PUT: $code" "$work/out"

code=$(curl_api -o "$work/out" -w '%{http_code}' http://localhost/nowhere)
[ "$code" = 400 ] && grep -q 'Invalid request method and/or path: GET nowhere.' "$work/out" &&
	ok "curl unknown path is 400, not 404" || bad "curl unknown path: $code" "$work/out"

# curl sends Expect: 100-continue for a body this big; the 413 comes before the body.
head -c 5000 /dev/zero | tr '\0' ' ' >"$work/big.json"
code=$(curl_api -o "$work/out" -w '%{http_code}' -X PUT --data-binary @"$work/big.json" \
	http://localhost/boot-source)
[ "$code" = 413 ] &&
	grep -q 'Request payload with size 5000 is larger than the limit of 4096 allowed by server.' \
		"$work/out" && ok "curl payload over --max-payload is 413" ||
	bad "curl big payload: $code" "$work/out"

printf '{"drive_id": "big", "pad": "%s"}' "$(head -c 3000 /dev/zero | tr '\0' x)" >"$work/mid.json"
code=$(curl_api -o "$work/out" -w '%{http_code}' -X PUT --data-binary @"$work/mid.json" \
	http://localhost/drives/big)
[ "$code" = 204 ] && ok "curl body under the limit with Expect: 100-continue is served" ||
	bad "curl 3 KB body: $code" "$work/out"

# ------------------------------------------------------------------ ignis-ctl
cat >"$work/vm.json" <<'EOF'
{
  "boot-source": {"kernel_image_path": "/vmlinux", "boot_args": "console=ttyS0"},
  "machine-config": {"vcpu_count": 2, "mem_size_mib": 256},
  "drives": [
    {"drive_id": "rootfs", "path_on_host": "/rootfs.ext4", "is_root_device": true, "is_read_only": false},
    {"drive_id": "data", "path_on_host": "/data.img", "is_root_device": false, "is_read_only": true}
  ],
  "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0"}],
  "serial": {"serial_out_path": "/tmp/console.log"},
  "logger": {"level": "Info"},
  "metrics": {"metrics_path": "/tmp/metrics.json"}
}
EOF
start_server
run "ctl configure applies a Firecracker config file" 0 '' -- "$ctl" --api-sock "$sock" configure "$work/vm.json"
"$ctl" --api-sock "$sock" config >"$work/config.json"
jcheck "ctl configure sent every section, devices by id, logger and metrics first" \
	'[r["action"] + " " + r["id"] for r in j["x-requests"][:8]] == ["PUT /logger ", "PUT /metrics ", "PUT /machine-config ", "PUT /boot-source ", "PUT /drives/{id} rootfs", "PUT /drives/{id} data", "PUT /network-interfaces/{id} eth0", "PUT /serial "]' \
	"$work/config.json"
jcheck "ctl config pretty-prints what the VMM holds" \
	'j["boot-source"]["kernel_image_path"] == "/vmlinux" and len(j["drives"]) == 2 and j["machine-config"]["vcpu_count"] == 2' \
	"$work/config.json"
grep -q '^  "boot-source": {$' "$work/config.json" && ok "ctl config output is indented" ||
	bad "ctl config indentation" "$work/config.json"

run "ctl start" 0 '' -- "$ctl" --api-sock "$sock" start
run "ctl info shows the state" 0 '"state": "Running"' -- "$ctl" --api-sock "$sock" info
run "ctl prints the fault_message of a refused request and exits 1" 1 \
	'^ignis-ctl: PUT /actions: 400: The requested operation is not supported after starting the microVM\.$' \
	-- "$ctl" --api-sock "$sock" start
run "ctl pause" 0 '' -- "$ctl" --api-sock "$sock" pause
run "ctl info after pause" 0 '"state": "Paused"' -- "$ctl" --api-sock "$sock" info
run "ctl resume" 0 '' -- "$ctl" --api-sock "$sock" resume
run "ctl ctrl-alt-del" 0 '' -- "$ctl" --api-sock "$sock" ctrl-alt-del
run "ctl flush-metrics" 0 '' -- "$ctl" --api-sock "$sock" flush-metrics
run "ctl version" 0 '"firecracker_version": "0.1.0"' -- "$ctl" --api-sock "$sock" version
run "ctl snapshot-create" 0 '' -- "$ctl" --api-sock "$sock" snapshot-create /s/snap /s/mem --diff
run "ctl snapshot-load" 0 '' -- "$ctl" --api-sock "$sock" snapshot-load /s/snap /s/mem --resume --uffd
run "ctl snapshot-load --track-dirty-pages" 0 '' -- "$ctl" --api-sock "$sock" snapshot-load /s/snap /s/mem --track-dirty-pages
"$ctl" --api-sock "$sock" config >"$work/config.json"
jcheck "ctl snapshot bodies are Firecracker's SnapshotCreateParams / SnapshotLoadParams" \
	'j["x-requests"][-4]["body"] == {"snapshot_path": "/s/snap", "mem_file_path": "/s/mem", "snapshot_type": "Diff"} and j["x-requests"][-3]["body"] == {"snapshot_path": "/s/snap", "mem_backend": {"backend_type": "Uffd", "backend_path": "/s/mem"}, "resume_vm": True} and j["x-requests"][-2]["body"] == {"snapshot_path": "/s/snap", "mem_backend": {"backend_type": "File", "backend_path": "/s/mem"}, "resume_vm": False, "track_dirty_pages": True}' \
	"$work/config.json"
jcheck "ctl actions and vm states went out as Firecracker's bodies" \
	'{"action_type": "SendCtrlAltDel"} in [r["body"] for r in j["x-requests"]] and {"state": "Paused"} in [r["body"] for r in j["x-requests"]]' \
	"$work/config.json"

run "ctl raw GET prints the JSON" 0 '"vcpu_count": 2' -- "$ctl" --api-sock "$sock" raw GET /machine-config
run "ctl raw shows the router's id check" 1 \
	'^ignis-ctl: PUT /drives/x: 400: The id from the path does not match the id from the body!$' \
	-- "$ctl" --api-sock "$sock" raw PUT /drives/x '{"drive_id": "y"}'
echo '{"drive_id": "fromfile"}' >"$work/drive.json"
run "ctl raw reads a body from @FILE" 0 '' -- "$ctl" --api-sock "$sock" raw PATCH /drives/fromfile @"$work/drive.json"
if echo '{"state": "Paused"}' | "$ctl" --api-sock "$sock" raw PATCH /vm - 2>"$work/err"; then
	ok "ctl raw reads a body from stdin"
else
	bad "ctl raw stdin body" "$work/err"
fi
run "ctl -v reports each request" 0 '^ignis-ctl: GET /version: 200$' -- "$ctl" -v --api-sock "$sock" version
run "ctl prints a multi-line fault message as sent" 1 $'^ignis-ctl: PUT /logger: 400: line one$' \
	-- "$ctl" --api-sock "$sock" raw PUT /logger '{"fail": "line one\nline two"}'

# configure stops at the first error: nothing after the failing section is sent.
cat >"$work/bad.json" <<'EOF'
{"boot-source": {"kernel_image_path": "/vmlinux"}, "machine-config": {"fail": "vcpu_count: 33 is out of range"}}
EOF
start_server
run "ctl configure stops at the first refused section" 1 \
	'^ignis-ctl: PUT /machine-config: 400: vcpu_count: 33 is out of range$' \
	-- "$ctl" --api-sock "$sock" configure "$work/bad.json" --start
"$ctl" --api-sock "$sock" config >"$work/config.json"
jcheck "ctl configure sent nothing after the failure" \
	'[r["action"] for r in j["x-requests"]] == ["PUT /machine-config", "GET /vm/config"]' "$work/config.json"

echo '{"frobnicate": {}, "boot-source": {"kernel_image_path": "/k"}}' >"$work/unknown.json"
run "ctl configure names an unknown section and sends nothing" 1 'unknown section "frobnicate"' \
	-- "$ctl" --api-sock "$sock" configure "$work/unknown.json"
echo '{"drives": [{"path_on_host": "/x"}]}' >"$work/noid.json"
run "ctl configure needs each drive's drive_id" 1 'drives\[0\] has no string "drive_id"' \
	-- "$ctl" --api-sock "$sock" configure "$work/noid.json"
echo '{"boot-source": ' >"$work/broken.json"
run "ctl configure reports invalid JSON with its position" 1 'config file .*broken.json: .* \(line [0-9]+ column [0-9]+\)' \
	-- "$ctl" --api-sock "$sock" configure "$work/broken.json"
run "ctl configure of a missing file" 1 'nope.json' -- "$ctl" --api-sock "$sock" configure "$work/nope.json"
"$ctl" --api-sock "$sock" config >"$work/config.json"
jcheck "nothing was sent for the unusable files" \
	'len(j["x-requests"]) == 3' "$work/config.json"

cp "$work/vm.json" "$work/vm-start.json"
start_server
run "ctl configure --start configures and starts" 0 '' -- "$ctl" --api-sock "$sock" configure "$work/vm-start.json" --start
run "ctl info after configure --start" 0 '"state": "Running"' -- "$ctl" --api-sock "$sock" info

# ------------------------------------------------------------------ errors
run "ctl cannot connect: names the socket, exits 2" 2 \
	"cannot connect to the API socket $work/none.sock: No such file or directory" \
	-- "$ctl" --api-sock "$work/none.sock" info
run "ctl with no command is a usage error" 153 'no command given' -- "$ctl" --api-sock "$sock"
run "ctl unknown command" 153 "unknown command 'frob'" -- "$ctl" --api-sock "$sock" frob
run "ctl missing arguments" 153 'snapshot-create: missing argument' -- "$ctl" --api-sock "$sock" snapshot-create /s
run "ctl stray argument" 153 "start: unexpected argument 'now'" -- "$ctl" --api-sock "$sock" start now
run "ctl unknown command flag" 153 "snapshot-load: unknown option '--diff'" -- "$ctl" --api-sock "$sock" snapshot-load a b --diff
run "ctl unknown option" 153 "unknown or incomplete option '--bogus'" -- "$ctl" --bogus info
run "ctl bad --timeout" 153 "invalid --timeout 'soon'" -- "$ctl" --timeout soon info
run "ctl --help" 0 '^Usage: ignis-ctl' -- "$ctl" --help
run "ctl --version" 0 '^ignis-ctl v[0-9]+\.[0-9]+\.[0-9]+' -- "$ctl" --version

stop_server
[ ! -e "$sock" ] && ok "the server removed its socket on SIGTERM" || bad "socket left after stop"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
