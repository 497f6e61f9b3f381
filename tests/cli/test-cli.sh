#!/usr/bin/env bash
# The ignis binary's command line and config-file handling, end to end through
# the real process: exit codes as Firecracker's (0, 152 bad configuration, 153
# argument parsing) and error messages that name what is wrong. Needs no KVM:
# every case here fails before /dev/kvm is opened.
set -uo pipefail

ignis=${1:?usage: test-cli.sh IGNIS}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

expect() { # label expected-rc stderr-regex -- args...
	local label=$1 want=$2 re=$3
	shift 4
	timeout 10 "$ignis" "$@" </dev/null >"$work/out" 2>"$work/err"
	local rc=$?
	if [ "$rc" = "$want" ] && grep -Eq -- "$re" "$work/err" "$work/out"; then
		echo "PASS: $label"; pass=$((pass + 1))
	else
		echo "FAIL: $label: want exit $want and /$re/, got exit $rc:"
		sed 's/^/    /' "$work/err" "$work/out" | head -5
		fail=$((fail + 1))
	fi
}

cfg() { printf '%s' "$1" >"$work/vm.json"; echo "$work/vm.json"; }

expect "--version prints the version" 0 '^ignis v[0-9]+\.[0-9]+\.[0-9]+' -- --version
expect "--help prints usage" 0 'Usage: ignis' -- --help
expect "--help names Firecracker's default API socket" 0 "default /run/firecracker.socket" -- --help
expect "--snapshot-version prints the format version" 0 '^2\.0$' -- --snapshot-version
expect "--describe-snapshot of a missing file" 1 "cannot open .*nope.state" -- --describe-snapshot "$work/nope.state"
printf 'IGNS is not how this starts' >"$work/junk.state"
expect "--describe-snapshot of a non-snapshot" 1 "not an ignis snapshot state file" -- --describe-snapshot "$work/junk.state"
mkfifo "$work/fifo.state"
expect "--describe-snapshot of a FIFO is refused, not waited on" 1 "is not a regular file" -- --describe-snapshot "$work/fifo.state"
expect "unknown flag is an argument error" 153 "unknown or incomplete argument .--bogus." -- --bogus
expect "flag missing its value is an argument error" 153 "argument" -- --config-file
expect "--no-api needs --config-file" 153 "--no-api requires --config-file" -- --no-api
expect "stray positional argument" 153 "unexpected argument .extra." -- --no-api --config-file x extra
expect "bad --level" 153 "invalid --level .loud." -- --level loud --no-api --config-file x
expect "missing config file" 152 "config file .*nope.json: No such file" -- --no-api --config-file "$work/nope.json"
expect "invalid JSON names the position" 152 "invalid JSON at line 1" -- --no-api --config-file "$(cfg '{"boot-source": ')"
expect "a config file larger than 1 MiB is refused" 152 "larger than 1048576 bytes" -- --no-api --config-file /dev/zero
expect "unknown top-level key is named" 152 "unknown field .frobnicate." -- --no-api --config-file "$(cfg '{"frobnicate": 1}')"
expect "unknown machine-config key is named" 152 "machine-config: unknown field .vcpus." -- --no-api --config-file "$(cfg '{"machine-config": {"vcpu_count": 1, "mem_size_mib": 128, "vcpus": 2}}')"
expect "vcpu_count out of range names the key" 152 "machine-config.vcpu_count: 33 is out of range" -- --no-api --config-file "$(cfg '{"machine-config": {"vcpu_count": 33, "mem_size_mib": 128}}')"
expect "mem_size_mib of the wrong type names the key" 152 "machine-config.mem_size_mib: expected an integer" -- --no-api --config-file "$(cfg '{"machine-config": {"vcpu_count": 1, "mem_size_mib": "128"}}')"
expect "bad huge_pages value names the key" 152 "machine-config.huge_pages" -- --no-api --config-file "$(cfg '{"machine-config": {"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "1G"}}')"
expect "smt with an odd vCPU count" 152 "with smt enabled" -- --no-api --config-file "$(cfg '{"machine-config": {"vcpu_count": 3, "mem_size_mib": 128, "smt": true}}')"
expect "missing kernel_image_path" 152 "boot-source: missing field .kernel_image_path." -- --no-api --config-file "$(cfg '{"boot-source": {"boot_args": "x"}}')"
expect "no boot-source at all" 152 "Cannot start microvm without kernel configuration" -- --no-api --config-file "$(cfg '{"machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}')"
expect "sections ignis does not serve yet are refused by name" 152 "vsock: not supported" -- --no-api --config-file "$(cfg '{"vsock": {"guest_cid": 3, "uds_path": "/tmp/v.sock"}}')"
expect "unknown serial key is named" 152 "serial: unknown field .rate_limiter." -- --no-api --config-file "$(cfg '{"serial": {"rate_limiter": {}}}')"
expect "unwritable serial_out_path is named" 152 "serial.serial_out_path /nonexistent-dir/x" -- --no-api --config-file "$(cfg '{"boot-source": {"kernel_image_path": "/bin/true"}, "serial": {"serial_out_path": "/nonexistent-dir/x"}}')"
expect "drive without path_on_host is named" 152 "drives\[0\]: drive .root.: missing field .path_on_host." -- --no-api --config-file "$(cfg '{"drives": [{"drive_id": "root", "is_root_device": true}]}')"
expect "drive id with bad characters" 152 "drives\[0\]: drive.drive_id .a-b.: API Resource IDs can only contain alphanumeric characters and underscores." -- --no-api --config-file "$(cfg '{"drives": [{"drive_id": "a-b", "path_on_host": "x", "is_root_device": false}]}')"
expect "two root drives" 152 "drives\[1\]: drive .b.: a root block device already exists \(drive .a.\)" -- --no-api --config-file "$(cfg '{"drives": [{"drive_id": "a", "path_on_host": "x", "is_root_device": true}, {"drive_id": "b", "path_on_host": "y", "is_root_device": true}]}')"
expect "drive id used twice" 152 "drives\[1\]: drive .a.: drive_id used twice" -- --no-api --config-file "$(cfg '{"drives": [{"drive_id": "a", "path_on_host": "x", "is_root_device": false}, {"drive_id": "a", "path_on_host": "y", "is_root_device": false}]}')"
expect "bad cache_type lists the choices" 152 "cache_type: expected one of \"Unsafe\", \"Writeback\", \"Writethrough\", \"None\"" -- --no-api --config-file "$(cfg '{"drives": [{"drive_id": "a", "path_on_host": "x", "is_root_device": false, "cache_type": "Fast"}]}')"
expect "bad io_engine" 152 "io_engine: expected one of \"Sync\", \"Async\"" -- --no-api --config-file "$(cfg '{"drives": [{"drive_id": "a", "path_on_host": "x", "is_root_device": false, "io_engine": "Turbo"}]}')"
expect "drive rate_limiter refused clearly" 152 "rate_limiter is not supported" -- --no-api --config-file "$(cfg '{"drives": [{"drive_id": "a", "path_on_host": "x", "is_root_device": false, "rate_limiter": {}}]}')"
expect "network interface without host_dev_name is named" 152 "network-interfaces\[0\]: iface .eth0.: missing field .host_dev_name." -- --no-api --config-file "$(cfg '{"network-interfaces": [{"iface_id": "eth0"}]}')"
expect "bad guest_mac names the interface and field" 152 "network-interfaces\[1\]: iface .eth1.\.guest_mac .06:00:zz:00:00:01.: expected six two-digit hex bytes" -- --no-api --config-file "$(cfg '{"network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0"}, {"iface_id": "eth1", "host_dev_name": "tap1", "guest_mac": "06:00:zz:00:00:01"}]}')"
expect "mtu out of range" 152 "iface .eth0.\.mtu: 67 is out of range \(68 to 65535\)" -- --no-api --config-file "$(cfg '{"network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0", "mtu": 67}]}')"
expect "network rate limiters refused clearly" 152 "iface .eth0.: tx_rate_limiter is not supported" -- --no-api --config-file "$(cfg '{"network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0", "tx_rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1}}}]}')"
expect "one TAP for two interfaces" 152 "iface .eth1.: host_dev_name .tap0. is already used by iface .eth0." -- --no-api --config-file "$(cfg '{"network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0"}, {"iface_id": "eth1", "host_dev_name": "tap0"}]}')"
expect "an API socket in a missing directory fails clearly" 1 "cannot start the API server on /nonexistent-dir/api.sock" -- --api-sock /nonexistent-dir/api.sock
expect "bad --http-api-max-payload-size" 153 "invalid --http-api-max-payload-size .lots." -- --http-api-max-payload-size lots
expect "--prewarm with --config-file" 153 "--prewarm \(for a later load\) takes no --config-file" -- --prewarm x --config-file y
expect "--prewarm of a missing state file, before any socket" 152 "--prewarm .*nope.state: cannot open snapshot state" -- --api-sock "$work/pre.sock" --prewarm "$work/nope.state"
expect "--prewarm of a non-snapshot" 152 "--prewarm .*junk.state: .*not an ignis snapshot state file" -- --api-sock "$work/pre.sock" --prewarm "$work/junk.state"
if [ -e "$work/pre.sock" ]; then
	echo "FAIL: a failed --prewarm left an API socket behind"; fail=$((fail + 1))
else
	echo "PASS: a failed --prewarm never opened its API socket"; pass=$((pass + 1))
fi

# --id as Firecracker's: 1 to 64 of A-Z, a-z, 0-9 and '-'.
expect "--id with a slash is an argument error" 153 "invalid --id .a/b." -- --id a/b --no-api --config-file x
expect "--id of 65 characters is an argument error" 153 "invalid --id" -- --id "$(printf 'a%.0s' $(seq 65))" --no-api --config-file x
expect "empty --id is an argument error" 153 "invalid --id" -- --id "" --no-api --config-file x
expect "--id of 64 characters is taken" 152 "config file .*nope-id.json" -- --id "$(printf 'b%.0s' $(seq 64))" --no-api --config-file "$work/nope-id.json"

# The config file's logger and metrics sections are applied as PUT /logger
# and PUT /metrics (Kata and flintlock always write them): the start's error
# lands in the log file, the metrics file is created.
cfg_lm=$(cfg "{\"boot-source\": {\"kernel_image_path\": \"$work/no-vmlinux\"},
 \"logger\": {\"log_path\": \"$work/cfg.log\", \"level\": \"Info\", \"show_level\": true},
 \"metrics\": {\"metrics_path\": \"$work/cfg.metrics\"}}")
timeout 10 "$ignis" --no-api --config-file "$cfg_lm" </dev/null >/dev/null 2>&1
rc=$?
if [ $rc = 152 ] && grep -q '\[Error\].*no-vmlinux' "$work/cfg.log" 2>/dev/null && [ -e "$work/cfg.metrics" ]; then
	echo "PASS: config file logger and metrics sections are applied"; pass=$((pass + 1))
else
	echo "FAIL: config file logger/metrics: want exit 152, the error in cfg.log, cfg.metrics; got $rc:"
	sed 's/^/    /' "$work/cfg.log" 2>/dev/null | head -3
	fail=$((fail + 1))
fi
expect "a logger section with a bad level is refused" 152 "logger.level: expected one of" -- \
	--no-api --config-file "$(cfg '{"logger": {"level": "Loud"}}')"

# Log and metrics FIFOs nobody reads yet open at once, as Firecracker's
# (read-write, non-blocking): the run goes on to the config file's error.
mkfifo "$work/metrics.fifo" "$work/log.fifo"
expect "--metrics-path FIFO without a reader opens at once" 152 "missing-for-fifo.json" -- \
	--metrics-path "$work/metrics.fifo" --no-api --config-file "$work/missing-for-fifo.json"
timeout 10 "$ignis" --log-path "$work/log.fifo" --no-api --config-file "$work/missing-for-fifo.json" \
	</dev/null >/dev/null 2>&1
rc=$?
if [ $rc = 152 ]; then
	echo "PASS: --log-path FIFO without a reader opens at once (exit 152 for the config)"; pass=$((pass + 1))
else
	echo "FAIL: --log-path FIFO without a reader: want exit 152, got $rc (124: blocked in open)"
	fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
