#!/usr/bin/env bash
# Runs one command in the nested test bed with this host's file tree around
# it: the build trees, the sources, python3, ctest and every other host path
# are where they are here (read-only over virtiofs, writes kept in L1), the
# command starts in the current directory with PATH and HOME as here, and a
# standard kvm-amd /dev/kvm is there. Its output comes back on stdout
# (stdout and stderr together, as L1's console carries them) and its exit
# status becomes ours; the bed's own failures have run.sh's codes (README).
#
#   scripts/bed/shell.sh [options] [--] COMMAND [ARGS...]
#     --mem MiB       L1 memory (default 3072: writes live in L1's RAM)
#     --timeout S     kill the bed after S seconds (default 1800)
#     --hugepages N   reserve N 2 MiB pages in L1 first
#     --env NAME      also pass $NAME (repeatable; PATH and HOME always)
#     --file SRC:DEST copy a host file into L1 at DEST (rarely needed: the
#                     host's tree is there already)
#     --log FILE      also keep the console in FILE
#
# Example: reproduce a host-KVM test on a machine without /dev/kvm:
#   (cd build && ../scripts/bed/shell.sh ctest -R hostkvm_snapshot --output-on-failure)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
args=(--hostfs --mem 3072 --timeout 1800)
while [ $# -gt 0 ]; do
	case "$1" in
	--mem|--timeout|--hugepages|--env|--file|--log|--freeze-limit)
		[ $# -ge 2 ] || { echo "shell.sh: $1 needs a value" >&2; exit 2; }
		args+=("$1" "$2")
		shift 2 ;;
	--) shift; break ;;
	-h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "shell.sh: unknown option: $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "shell.sh: no command given" >&2; exit 2; }

script=$(mktemp "${TMPDIR:-/tmp}/ignis-shell.XXXXXX")
trap 'rm -f "$script"' EXIT
{
	printf 'exec'
	for a in "$@"; do
		printf " '%s'" "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
	done
	printf '\n'
} >"$script"
"$here/run.sh" "${args[@]}" --script "$script"
