#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine: install the
# dependencies, build ignis, build the guest kernel and root file system
# (cached), boot a Linux microVM, show its serial console, and report the
# boot time ignis measured (process start -> guest init, via --boot-timer).
#
# Where this machine's /dev/kvm can boot Linux (a standard KVM), ignis runs
# here directly. Where it is PVM (which cannot boot unmodified Linux) or
# absent, the demo runs inside the nested test bed (QEMU TCG + kvm-amd) and
# says so. Environment: IGNIS_SKIP_DEPS=1 skips the package install;
# IGNIS_DEMO_VCPUS / IGNIS_DEMO_MEM_MIB change the machine shape.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
vcpus=${IGNIS_DEMO_VCPUS:-2}
mem=${IGNIS_DEMO_MEM_MIB:-256}

say() { printf '\n=== %s\n' "$*" >&2; }

if [ "${IGNIS_SKIP_DEPS:-0}" != 1 ]; then
	say "installing dependencies"
	scripts/install-deps.sh
fi
say "building ignis"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIGNIS_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
say "preparing the guest kernel and initramfs (cached; the first kernel build takes ~7 minutes)"
kernel=$(scripts/guest/build-kernel.sh | tail -n 1)
initramfs=$(scripts/guest/build-rootfs.sh | sed -n 's/^initramfs=//p')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# No quotes: the kernel's command-line parser would eat them before init sees the words.
guest_cmd='echo; echo Hello from a Linux microVM booted by ignis; uname -sr; echo vCPUs: $(grep -c ^processor /proc/cpuinfo); grep MemTotal /proc/meminfo'
boot_args="console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux i8042.dumbkbd -- $guest_cmd"

write_config() { # kernel initramfs
	python3 - "$1" "$2" "$boot_args" "$vcpus" "$mem" <<'PY'
import json, sys
k, i, args, vcpus, mem = sys.argv[1:]
print(json.dumps({"boot-source": {"kernel_image_path": k, "initrd_path": i, "boot_args": args},
                  "machine-config": {"vcpu_count": int(vcpus), "mem_size_mib": int(mem)}}))
PY
}

if [ -e /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
	say "booting a ${vcpus}-vCPU ${mem} MiB microVM on this machine's /dev/kvm"
	write_config "$kernel" "$initramfs" >"$work/vm.json"
	build/ignis --no-api --config-file "$work/vm.json" --boot-timer </dev/null 2>&1 | tee "$work/console.log"
else
	if [ -e /dev/kvm ]; then
		say "this machine's /dev/kvm is PVM, which cannot boot an unmodified Linux guest:"
	else
		say "this machine has no /dev/kvm:"
	fi
	say "running the demo inside the nested test bed (QEMU TCG with emulated SVM + kvm-amd; ~10 s of overhead)"
	write_config /bed/vmlinux /bed/initramfs.cpio.gz >"$work/vm.json"
	cat >"$work/inner.sh" <<'INNER'
echo "=== inside the test host: ignis --no-api --config-file vm.json --boot-timer"
/bed/bin/ignis --no-api --config-file /bed/vm.json --boot-timer </dev/null 2>&1
echo "=== ignis exited with status $?"
INNER
	scripts/bed/run.sh --bin build/ignis --file "$kernel:vmlinux" --file "$initramfs:initramfs.cpio.gz" \
		--file "$work/vm.json:vm.json" --script "$work/inner.sh" --timeout 600 |
		tee "$work/console.log"
fi

boot_line=$(grep -o 'Guest-boot-time = .*' "$work/console.log" | head -n 1 || true)
if [ -z "$boot_line" ]; then
	say "the guest did not report its boot time: see the console above"
	exit 1
fi
say "measured by ignis (process start -> guest init): $boot_line"
