#!/usr/bin/env bash
# Runs every test tier of ignis on a fresh Debian 12 machine:
#   1. installs the dependencies (scripts/install-deps.sh),
#   2. builds ignis twice: normal (build/) and with ASan+UBSan (build-asan/),
#   3. prepares the guest kernels (the guest matrix: ours and tinyconfig's
#      defaults), guest root file systems and the test-host kernel (cached
#      under ${XDG_CACHE_HOME:-~/.cache}/ignis, built once),
#   4. runs the tiers through ctest: unit, cli, api, jailer (here), hostkvm
#      (on this machine's /dev/kvm if it has one, else inside the nested
#      test bed: same tests, same binaries, see scripts/bed/README.md), e2e
#      (Linux guests, always in the bed); then unit, cli, api, jailer and
#      hostkvm again under the sanitizers; then every fuzz target briefly.
# Every tier runs even when an earlier one failed; the summary at the end
# gives, per tier, how many tests ran here, how many in the bed, how many
# were skipped, failed or needed a rerun, and the wall time. The run fails
# if any test failed or was skipped: a skipped test proves nothing.
#
# Environment: IGNIS_SKIP_DEPS=1 skips step 1 (for quick reruns);
# IGNIS_TEST_LABELS=regex limits the tiers (e.g. "unit|cli");
# IGNIS_KVM_WHERE=native|bed forces where the host-KVM tier runs.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=$(nproc)
results=$(mktemp -d "${TMPDIR:-/tmp}/ignis-test.XXXXXX")
trap 'rm -rf "$results"' EXIT

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

say "preparing guest artefacts (cached; each kernel's first build takes ~9 minutes)"
scripts/guest/build-kernel.sh >/dev/null
scripts/guest/build-kernel.sh tiny >/dev/null
scripts/guest/build-rootfs.sh >/dev/null
scripts/bed/l1.sh >/dev/null

# Where the host-KVM tier runs: natively on any /dev/kvm this process can
# open (PVM included: the tiny test guests are made for it), else in the bed.
kvm_where=${IGNIS_KVM_WHERE:-}
if [ -z "$kvm_where" ]; then
	if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		kvm_where=native
	else
		kvm_where=bed
	fi
fi
case $kvm_where in
native)
	if [ -d /sys/module/kvm_pvm ]; then
		say "NOTE: this host's /dev/kvm is PVM: host-KVM tests (tiny guests) run on it;" \
			"Linux guests run in the nested test bed"
	fi ;;
bed) say "NOTE: no usable /dev/kvm here: the host-KVM tier runs inside the nested test bed" ;;
*) echo "test.sh: IGNIS_KVM_WHERE must be native or bed" >&2; exit 2 ;;
esac

labels=${IGNIS_TEST_LABELS:-unit|cli|api|jailer|hostkvm|e2e}
want() { printf '%s\n' "$labels" | tr '|' '\n' | grep -qx "$1"; }
local_labels=$(printf '%s' "$labels" | tr '|' '\n' | grep -E '^(unit|cli|api|jailer)$' | paste -sd'|' || true)

# --- running a group of tests and keeping its results ------------------------
# Each group's ctest output is kept in $results/GROUP.log; tally reads the
# last verdict of every test from it ("Test #N: name ...   Passed", ...).
groups=()
frozen_retries=0

# test_names BUILD_DIR LABEL_REGEX: the tests ctest would run, one a line.
test_names() {
	(cd "$1" && ctest -N -L "^($2)\$" 2>/dev/null) | sed -n 's/.*Test *#[0-9]*: \(.*\)$/\1/p'
}

# run_group GROUP BUILD_DIR WHERE(native|bed) LABEL_REGEX [CTEST_ARGS...]
run_group() {
	local group=$1 dir=$2 where=$3 regex=$4 start rc=0 attempt
	shift 4
	groups+=("$group")
	test_names "$dir" "$regex" >"$results/$group.names"
	start=$(date +%s)
	echo "$where" >"$results/$group.where"
	say "ctest: $group ($where)"
	if [ "$where" = native ]; then
		(cd "$dir" && ctest -L "^($regex)\$" -j "$jobs" --output-on-failure "$@") 2>&1 |
			tee "$results/$group.log" || rc=$?
	else
		# One bed session for the whole group: L1 boots once. A frozen L1
		# (run.sh exit 98) is the bed's failure, not the tests': start the
		# session once more and say so; a test failing in a live L1 fails.
		for attempt in 1 2; do
			rc=0
			(cd "$dir" && "$root/scripts/bed/shell.sh" --timeout 3600 --mem 4096 -- \
				ctest -L "^($regex)\$" -j 1 --output-on-failure "$@") 2>&1 |
				tee "$results/$group.log" || rc=$?
			[ "$rc" = 98 ] && [ "$attempt" = 1 ] || break
			frozen_retries=$((frozen_retries + 1))
			say "INFRASTRUCTURE RETRY: L1 froze during $group; starting its bed session once more"
		done
	fi
	echo "$rc" >"$results/$group.rc"
	echo $(($(date +%s) - start)) >"$results/$group.secs"
}

# Every test's last verdict in a group's log: "NAME VERDICT" lines, plus
# "NAME rerun" for a test that failed once and then passed.
verdicts() {
	sed -n 's/.*Test *#[0-9]*: \([^ ]*\) \.*[ *]*\(Passed\|Failed\|Skipped\|Not Run\|Timeout\|Exception\).*/\1 \2/p' \
		"$results/$1.log" | awk '
		{ v = $2; if (v == "Not") v = "Skipped"; if (seen[$1] == "Failed" && v == "Passed") rerun[$1] = 1; seen[$1] = v }
		END { for (t in seen) print t, seen[t]; for (t in rerun) print t, "rerun" }'
}

# --- the tiers -----------------------------------------------------------------
if [ -n "$local_labels" ]; then
	run_group local build native "$local_labels"
fi
if want hostkvm; then
	run_group hostkvm build "$kvm_where" hostkvm
fi
if want e2e; then
	# Each e2e test is one bed session of its own (it stages what it needs).
	# A failed one runs once more, and the summary counts it: kind-2 bed
	# stalls (L2's timer far too late in a live L1, scripts/bed/README.md)
	# still happen now and then.
	run_group e2e build native e2e --repeat until-pass:2
	echo bed >"$results/e2e.where"
fi
if [ -n "$local_labels" ]; then
	run_group asan-local build-asan native "$local_labels"
fi
if want hostkvm; then
	run_group asan-hostkvm build-asan "$kvm_where" hostkvm
fi
fuzz_rc=0
fuzz_start=$(date +%s)
if want unit; then
	# run.sh splits the seconds between its targets: 11 of them, 30 s each.
	say "fuzz: every libFuzzer target, 30 s each (clang, libFuzzer + ASan + UBSan, in build-fuzz/)"
	tests/fuzz/run.sh 330 || fuzz_rc=$?
fi
fuzz_secs=$(($(date +%s) - fuzz_start))

# --- summary -------------------------------------------------------------------
say "summary (tier: tests run here / in the nested bed / skipped / failed / rerun; wall time of the run)"
status=0
for group in "${groups[@]}"; do
	where=$(cat "$results/$group.where")
	case $group in asan-*) build=build-asan; tier_prefix="asan " ;; *) build=build; tier_prefix="" ;; esac
	verdicts "$group" >"$results/$group.verdicts"
	rows=0
	for label in unit cli api jailer hostkvm e2e; do
		# The tests of this label that this group was to run.
		test_names "$build" "$label" | awk 'NR == FNR { g[$1] = 1; next } ($1 in g)' \
			"$results/$group.names" - >"$results/label-$label.names"
		# The group ran a label's tests if any of them has a verdict in it.
		awk 'NR == FNR { want[$1] = 1; next } ($1 in want)' "$results/label-$label.names" \
			"$results/$group.verdicts" >"$results/x"
		n=$(grep -cv ' rerun$' "$results/x" || true)
		[ "$n" -gt 0 ] || continue
		expected=$(grep -c . "$results/label-$label.names" || true)
		passed=$(grep -c ' Passed$' "$results/x" || true)
		skipped=$(grep -c ' Skipped$' "$results/x" || true)
		# A test of the label without a verdict (the bed died under it) failed.
		failed=$((expected - passed - skipped))
		reruns=$(grep -c ' rerun$' "$results/x" || true)
		here=0 bed=0
		if [ "$where" = native ]; then here=$((passed + failed)); else bed=$((passed + failed)); fi
		rows=$((rows + 1))
		printf '  %-14s here %3d  bed %3d  skipped %2d  failed %2d  rerun %d  (%s: %ss)\n' \
			"$tier_prefix$label" "$here" "$bed" "$skipped" "$failed" "$reruns" "$group" \
			"$(cat "$results/$group.secs")"
		if [ "$skipped" -gt 0 ] || [ "$failed" -gt 0 ]; then
			status=1
			grep -E ' (Skipped|Failed|Timeout|Exception)$' "$results/x" | sed 's/^/      /'
		fi
	done
	if [ "$rows" = 0 ] && [ -s "$results/$group.names" ]; then
		echo "  $group: no test of it reported a result"
		status=1
	fi
	rc=$(cat "$results/$group.rc")
	if [ "$rc" != 0 ] && [ "$status" = 0 ]; then
		echo "  $group: ctest exited $rc"
		status=1
	fi
done
if want unit; then
	printf '  %-14s %s  (%ss)\n' fuzz "$([ "$fuzz_rc" = 0 ] && echo passed || echo "FAILED ($fuzz_rc)")" "$fuzz_secs"
	[ "$fuzz_rc" = 0 ] || status=1
fi
echo "  bed sessions restarted after L1 froze: $frozen_retries"
if [ "$status" != 0 ]; then
	say "FAILED: see the failed or skipped tests above"
	exit 1
fi
say "all tiers passed"
