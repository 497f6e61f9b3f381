#!/usr/bin/env bash
# Host-KVM tier: boots the tiny test guest with ignis on this machine's own
# /dev/kvm (PVM is fine: the guest takes no exception or interrupt) and checks
# its console output, the boot-timer line, and the clean exit through the
# i8042 reset, for several machine shapes. Also checks that broken kernel
# images are refused with a clear error and the bad-configuration exit code.
set -uo pipefail

ignis=${1:?usage: test-host-kvm.sh IGNIS HELLO_ELF}
guest=${2:?usage: test-host-kvm.sh IGNIS HELLO_ELF}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

if [ ! -e /dev/kvm ]; then
	echo "SKIPPED: host-KVM tier: this machine has no /dev/kvm (the nested e2e tier still runs)"
	exit 77
fi
if [ -d /sys/module/kvm_pvm ]; then
	echo "NOTE: /dev/kvm is PVM: only the tiny test guest runs here; Linux guests are tested in the nested bed"
fi

check() { # name condition-result detail
	if [ "$2" = 0 ]; then
		echo "PASS: $1"; pass=$((pass + 1))
	else
		echo "FAIL: $1 ${3:-}"; fail=$((fail + 1))
	fi
}

config() { # kernel vcpus mem [huge_pages]
	cat <<JSON
{"boot-source": {"kernel_image_path": "$1", "boot_args": "console=ttyS0"},
 "machine-config": {"vcpu_count": $2, "mem_size_mib": $3, "huge_pages": "${4:-None}"}}
JSON
}

boot() { # label vcpus mem [huge_pages]
	local label=$1
	config "$guest" "$2" "$3" "${4:-None}" >"$work/$label.json"
	timeout 60 "$ignis" --no-api --config-file "$work/$label.json" --boot-timer \
		</dev/null >"$work/$label.out" 2>"$work/$label.err"
	local rc=$?
	check "$label: exit code 0 after the guest's i8042 reset" "$([ $rc = 0 ]; echo $?)" "(got $rc; stderr: $(tail -3 "$work/$label.err"))"
	check "$label: console shows the guest banner" \
		"$([ "$(cat "$work/$label.out")" = "Hello from the ignis test guest" ]; echo $?)" \
		"(got: $(head -c 200 "$work/$label.out"))"
	check "$label: boot-timer line logged" \
		"$(grep -q 'Guest-boot-time = *[0-9]* us [0-9]* ms, *[0-9]* CPU us' "$work/$label.err"; echo $?)"
}

boot "1 vCPU 32 MiB" 1 32
boot "2 vCPUs 64 MiB" 2 64
boot "32 vCPUs 128 MiB" 32 128
boot "THP 64 MiB" 1 64 Transparent
boot "4 GiB (RAM split around the MMIO gap)" 1 4096

# Console to a file (Firecracker's serial_out_path) instead of stdout.
cat >"$work/serial.json" <<JSON
{"boot-source": {"kernel_image_path": "$guest"},
 "machine-config": {"vcpu_count": 1, "mem_size_mib": 32},
 "serial": {"serial_out_path": "$work/console.txt"}}
JSON
timeout 60 "$ignis" --no-api --config-file "$work/serial.json" </dev/null >"$work/serial.out" 2>"$work/serial.err"
rc=$?
check "serial_out_path: exit 0" "$([ $rc = 0 ]; echo $?)" "(got $rc)"
check "serial_out_path: the banner is in the file" \
	"$([ "$(cat "$work/console.txt" 2>/dev/null)" = "Hello from the ignis test guest" ]; echo $?)"
check "serial_out_path: nothing of the guest on stdout" "$([ ! -s "$work/serial.out" ]; echo $?)"

# 2 MiB hugetlbfs pages: boot when 32 MiB worth are free, else a clear refusal.
free_huge=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
if [ "${free_huge:-0}" -ge 16 ]; then
	boot "2M huge pages 32 MiB" 1 32 2M
else
	config "$guest" 1 32 2M >"$work/huge.json"
	timeout 30 "$ignis" --no-api --config-file "$work/huge.json" </dev/null >/dev/null 2>"$work/huge.err"
	rc=$?
	check "2M huge pages with none reserved: exit 152" "$([ $rc = 152 ]; echo $?)" "(got $rc)"
	check "2M huge pages with none reserved: error points at nr_hugepages" \
		"$(grep -q 'huge pages: not enough are reserved.*nr_hugepages' "$work/huge.err"; echo $?)" "($(cat "$work/huge.err"))"
fi

# Hostile or broken kernel images: refused with a message, exit 152, no crash.
bad() { # label file expected-regex
	config "$2" 1 32 >"$work/bad.json"
	timeout 30 "$ignis" --no-api --config-file "$work/bad.json" </dev/null >/dev/null 2>"$work/bad.err"
	local rc=$?
	check "$1: exit code 152" "$([ $rc = 152 ]; echo $?)" "(got $rc)"
	check "$1: error says why" "$(grep -Eq "$3" "$work/bad.err"; echo $?)" "(stderr: $(cat "$work/bad.err"))"
}
head -c 100 "$guest" >"$work/truncated.elf"
bad "truncated ELF" "$work/truncated.elf" "truncated|too short"
printf 'not a kernel at all, just text\n%.0s' {1..40} >"$work/text.bin"
bad "not a kernel" "$work/text.bin" "neither ELF nor bzImage"
bad "missing kernel file" "$work/does-not-exist" "does-not-exist: No such file"
: >"$work/empty"
bad "empty kernel file" "$work/empty" "empty"

# Memory too small for the kernel's load address (16 MiB).
config "$guest" 1 8 >"$work/small.json"
timeout 30 "$ignis" --no-api --config-file "$work/small.json" </dev/null >/dev/null 2>"$work/small.err"
rc=$?
check "guest RAM smaller than the kernel: exit 152" "$([ $rc = 152 ]; echo $?)" "(got $rc)"
check "guest RAM smaller than the kernel: says it does not fit" \
	"$(grep -q 'does not fit in guest memory' "$work/small.err"; echo $?)" "($(cat "$work/small.err"))"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
