# shellcheck shell=sh
# Inner-side helpers, sourced by scripts that run inside L1 (busybox sh).
# Stage with `--file scripts/bed/case.sh --bin <tstamp>`; see lib.sh for the
# host side that reads the results back.

# bed_case NAME LIMIT_S CMD...: run CMD under tstamp with a time limit,
# every output line prefixed with "NAME " so one console log can hold many
# cases. The status travels in the "NAME TSTAMP_EXIT status=<n>" line.
bed_case() {
	_name=$1
	_limit=$2
	shift 2
	echo "CASE_BEGIN $_name: $*"
	/bed/bin/tstamp -t "$_limit" -- "$@" | sed "s/^/$_name /"
	echo "CASE_END $_name"
}
