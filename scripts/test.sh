#!/usr/bin/env bash
# Runs every test tier of ignis on a fresh Debian 12 machine:
#   1. installs the dependencies (scripts/install-deps.sh),
#   2. builds ignis twice: normal (build/) and with ASan+UBSan (build-asan/),
#   3. prepares the guest kernel, guest root file systems and the test-host
#      kernel (cached under ${XDG_CACHE_HOME:-~/.cache}/ignis, built once),
#   4. runs all tiers through ctest: unit, cli, hostkvm, e2e (normal build),
#      then unit, cli and hostkvm again under the sanitizers.
# Real Linux guests always run in the nested test bed (QEMU TCG + kvm-amd,
# see scripts/bed/README.md), which needs no /dev/kvm on this machine.
#
# Environment: IGNIS_SKIP_DEPS=1 skips step 1 (for quick reruns);
# IGNIS_TEST_LABELS=regex limits the tiers (e.g. "unit|cli").
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc)

say() { printf '\n=== %s\n' "$*"; }

if [ "${IGNIS_SKIP_DEPS:-0}" != 1 ]; then
	say "installing dependencies"
	scripts/install-deps.sh
fi

say "building (build/ and build-asan/ with address,undefined)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIGNIS_TESTS=ON >/dev/null
cmake --build build -j "$jobs"
cmake -S . -B build-asan -DIGNIS_SANITIZE=address,undefined -DIGNIS_TESTS=ON >/dev/null
cmake --build build-asan -j "$jobs"

say "preparing guest artefacts (cached; the first kernel build takes ~7 minutes)"
scripts/guest/build-kernel.sh >/dev/null
scripts/guest/build-rootfs.sh >/dev/null
scripts/bed/l1.sh >/dev/null

if [ ! -e /dev/kvm ]; then
	say "NOTE: no /dev/kvm on this machine: the host-KVM tier will report itself SKIPPED;" \
	    "Linux guests still run in the nested test bed"
elif [ -d /sys/module/kvm_pvm ]; then
	say "NOTE: this host's /dev/kvm is PVM, which cannot boot Linux guests:" \
	    "the host-KVM tier uses the tiny test guest, Linux guests run in the nested test bed"
fi

labels=${IGNIS_TEST_LABELS:-unit|cli|api|jailer|hostkvm|e2e}
say "ctest: tiers $labels (normal build)"
# A failed test is run once more (and both runs are in the output): one e2e
# run hung once in ~10 (guest start through the API in the nested bed; see
# the issues) and a single TCG hiccup must not hide every other result.
(cd build && ctest -L "$labels" -j "$jobs" --output-on-failure --repeat until-pass:2)

asan_labels=$(printf '%s' "$labels" | tr '|' '\n' | grep -v '^e2e$' | paste -sd'|' || true)
if [ -n "$asan_labels" ]; then
	say "ctest: tiers $asan_labels under ASan+UBSan"
	(cd build-asan && ctest -L "$asan_labels" -j "$jobs" --output-on-failure)
fi
say "fuzz: every libFuzzer target, 60 s each (clang, libFuzzer + ASan + UBSan, in build-fuzz/)"
tests/fuzz/run.sh 120
say "all tiers passed"
