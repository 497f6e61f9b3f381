#!/usr/bin/env bash
# The long fuzz campaign (docs/security.md): each target until RUNS
# executions or SECONDS, whichever comes first, under ASan + UBSan, JOBS
# targets at a time, from the corpus run.sh keeps in the build tree (run
# `tests/fuzz/run.sh` once first: it builds the targets and makes it). Prints
# one table row per target: executions, seconds, cov and ft at the end, and
# the crash/leak/timeout files it left (0 is the only good answer). The logs
# stay in BUILD/campaign/.
#
# Usage: tests/fuzz/campaign.sh RUNS SECONDS [TARGET...]   (default: all)
# Environment: IGNIS_FUZZ_BUILD (default build-fuzz), IGNIS_FUZZ_JOBS (default nproc)
set -uo pipefail

runs=${1:?usage: campaign.sh RUNS SECONDS [TARGET...]}
secs=${2:?usage: campaign.sh RUNS SECONDS [TARGET...]}
shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${IGNIS_FUZZ_BUILD:-$root/build-fuzz}
jobs=${IGNIS_FUZZ_JOBS:-$(nproc)}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(virtq_blk snapshot_state api_body working_set uffd_regions
	seccomp_policy jailer_input kernel_loader virtio_net http device_restore)
[ -d "$build/fuzz-corpus" ] || { echo "$0: run tests/fuzz/run.sh first" >&2; exit 2; }
mkdir -p "$build/campaign"

one() { # target
	local t=$1 out=$build/campaign/$1
	rm -rf "$out" && mkdir -p "$out"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$build/fuzz_$t" -runs="$runs" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/" "$build/fuzz-corpus/$t" \
		>"$out.log" 2>&1
	echo $? >"$out.rc"
}

running=0
for t in "${targets[@]}"; do
	one "$t" &
	running=$((running + 1))
	if [ $running -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

status=0
printf '| target | executions | seconds | cov | ft | crash/leak/timeout files | exit |\n|---|---|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
	log=$build/campaign/$t.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(printf '%s' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(printf '%s' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	bad=$(find "$build/campaign/$t" -type f | wc -l)
	rc=$(cat "$build/campaign/$t.rc")
	printf '| fuzz_%s | %s | %s | %s | %s | %s | %s |\n' "$t" "${execs:-?}" "${took:-?}" "${cov:-?}" \
		"${ft:-?}" "$bad" "$rc"
	[ "$bad" = 0 ] && [ "$rc" = 0 ] || status=1
done
exit $status
