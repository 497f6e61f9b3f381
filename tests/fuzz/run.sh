#!/usr/bin/env bash
# Builds the libFuzzer targets with clang + ASan + UBSan in their own build
# directory and runs each for a bounded time: fuzz_virtq_blk,
# fuzz_snapshot_state, fuzz_api_body, fuzz_working_set, fuzz_uffd_regions,
# fuzz_seccomp_policy, fuzz_jailer_input, fuzz_kernel_loader,
# fuzz_virtio_net, fuzz_http and fuzz_device_restore, SECONDS split
# between them. Fails (non-zero) on any crash, leak, sanitizer
# report, timeout or broken invariant; the input
# that did it is left in the build directory as crash-* / leak-* / timeout-*.
#
# Usage: tests/fuzz/run.sh [SECONDS]        (default 60, for all targets together)
# Environment: IGNIS_FUZZ_BUILD  build directory (default build-fuzz)
#              IGNIS_FUZZ_JOBS   parallel build jobs (default 2)
set -euo pipefail

secs=${1:-60}
case "$secs" in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${IGNIS_FUZZ_BUILD:-$root/build-fuzz}
jobs=${IGNIS_FUZZ_JOBS:-2}

if ! command -v clang >/dev/null; then
	echo "$0: clang is required (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi

CC=clang cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DIGNIS_FUZZ=ON \
	-DIGNIS_TESTS=OFF -DIGNIS_SANITIZE=address,undefined >/dev/null
cmake --build "$build" -j "$jobs" --target fuzz_virtq_blk fuzz_snapshot_state \
	fuzz_snapshot_seeds fuzz_api_body fuzz_working_set fuzz_uffd_regions \
	fuzz_seccomp_policy fuzz_jailer_input fuzz_kernel_loader fuzz_virtio_net fuzz_http \
	fuzz_device_restore

# Each target gets an equal share of the time (at least one second).
targets=(virtq_blk snapshot_state api_body working_set uffd_regions seccomp_policy jailer_input
	kernel_loader virtio_net http device_restore)
share=$((secs / ${#targets[@]}))
[ "$share" -ge 1 ] || share=1

# New inputs go to the build tree; the checked-in seeds are only read. The
# snapshot seeds are written by the current encoder, so they never go stale.
mkdir -p "$build/fuzz-corpus/virtq_blk" "$build/fuzz-corpus/snapshot_state" \
	"$build/fuzz-corpus/api_body" "$build/fuzz-corpus/working_set" "$build/fuzz-corpus/uffd_regions" \
	"$build/fuzz-corpus/seccomp_policy" "$build/fuzz-corpus/jailer_input" \
	"$build/fuzz-corpus/kernel_loader" "$build/fuzz-corpus/virtio_net" \
	"$build/fuzz-corpus/http" "$build/fuzz-corpus/device_restore" \
	"$build/fuzz-seeds/snapshot_state"
"$build/fuzz_snapshot_seeds" "$build/fuzz-seeds/snapshot_state"
cd "$build"
for t in "${targets[@]}"; do
	case "$t" in
	virtq_blk) seeds=$root/tests/fuzz/corpus ;;
	snapshot_state) seeds=$build/fuzz-seeds/snapshot_state ;;
	api_body) seeds=$root/tests/fuzz/corpus-api ;;
	working_set) seeds=$root/tests/fuzz/corpus-ws ;;
	uffd_regions) seeds=$root/tests/fuzz/corpus-uffd ;;
	seccomp_policy) seeds=$root/tests/fuzz/corpus-seccomp ;;
	jailer_input) seeds=$root/tests/fuzz/corpus-jailer ;;
	kernel_loader) seeds=$root/tests/fuzz/corpus-loader ;;
	virtio_net) seeds=$root/tests/fuzz/corpus-net ;;
	http) seeds=$root/tests/fuzz/corpus-http ;;
	device_restore) seeds=$root/tests/fuzz/corpus-restore ;;
	esac
	echo "== fuzz_$t: ${share}s"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		./"fuzz_$t" -max_total_time="$share" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build/" \
		"$build/fuzz-corpus/$t" "$seeds"
done
