#!/usr/bin/env bash
# ignis-snapshot-editor end to end: Firecracker's syntax, exit codes (0 done,
# 1 the merge failed, 2 bad usage), messages that name the problem, and a
# merge of a real sparse diff (one page of zeroes among its data) onto a base
# whose other pages stay as they were. Needs no KVM.
set -uo pipefail

editor=${1:?usage: test-snapshot-editor.sh IGNIS-SNAPSHOT-EDITOR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }

expect() { # label expected-rc output-regex -- args...
	local label=$1 want=$2 re=$3
	shift 4
	timeout 10 "$editor" "$@" </dev/null >"$work/out" 2>&1
	local rc=$?
	if [ "$rc" = "$want" ] && grep -Eq -- "$re" "$work/out"; then
		ok "$label"
	else
		ko "$label: want exit $want and /$re/, got exit $rc:"
		sed 's/^/    /' "$work/out" | head -5
	fi
}

# base: 16 pages of 0xaa; diff: 16-page sparse file with page 2 = 0x11,
# page 3 = zeroes (written, so data), page 15 = 0x22.
head -c 65536 /dev/zero | tr '\0' '\252' >"$work/base"
cp "$work/base" "$work/base.orig"
truncate -s 65536 "$work/diff"
head -c 4096 /dev/zero | tr '\0' '\021' | dd of="$work/diff" bs=4096 seek=2 conv=notrunc status=none
dd if=/dev/zero of="$work/diff" bs=4096 seek=3 count=1 conv=notrunc status=none
head -c 4096 /dev/zero | tr '\0' '\042' | dd of="$work/diff" bs=4096 seek=15 conv=notrunc status=none

expect "--help prints Firecracker's syntax" 0 'edit-memory rebase --memory-path BASE --diff-path DIFF' -- --help
expect "--version" 0 '^ignis-snapshot-editor v[0-9]+\.' -- --version
expect "no command: usage, exit 2" 2 'expected a command' --
expect "unknown command: exit 2" 2 'expected a command' -- edit-vmstate rebase
expect "missing --diff-path: exit 2" 2 'needs --memory-path and --diff-path' -- edit-memory rebase --memory-path "$work/base"
expect "flag without its path: exit 2" 2 "a path must follow '--diff-path'" -- edit-memory rebase --memory-path "$work/base" --diff-path
expect "unknown flag: exit 2" 2 "unexpected argument '--force'" -- edit-memory rebase --force
expect "flag given twice: exit 2" 2 "given twice" -- edit-memory rebase --memory-path a --memory-path b
expect "same file: exit 1" 1 'are the same file' -- edit-memory rebase --memory-path "$work/base" --diff-path "$work/base"
truncate -s 8192 "$work/small"
expect "size mismatch: exit 1" 1 'is 8192 bytes, base .* is 65536: not a diff of this base' -- edit-memory rebase --memory-path "$work/base" --diff-path "$work/small"
expect "a directory as diff: exit 1" 1 'is not a regular file' -- edit-memory rebase --memory-path "$work/base" --diff-path "$work"
expect "missing base: exit 1" 1 'cannot open base memory file .*nope: No such file' -- edit-memory rebase --memory-path "$work/nope" --diff-path "$work/diff"
cmp -s "$work/base" "$work/base.orig" && ok "refusals leave the base untouched" || ko "refusals changed the base"

expect "merge: exit 0, pages 2-3 and 15 as 2 extents" 0 'merged 12288 bytes in 2 extents' -- edit-memory rebase --memory-path "$work/base" --diff-path "$work/diff"
# The distinct byte values in page $1 of the base must be exactly $2.
want() { [ "$(dd if="$work/base" bs=4096 skip="$1" count=1 status=none | od -An -v -tx1 | tr -s ' \n' '\n' | grep -v '^$' | sort -u)" = "$2" ]; }
untouched=1
for p in 0 1 4 5 6 7 8 9 10 11 12 13 14; do
	want "$p" aa || { ko "page $p of the base changed"; untouched=0; }
done
[ "$untouched" = 1 ] && ok "pages the diff does not hold are untouched"
want 2 11 && ok "a dirty page is copied" || ko "page 2 is not 0x11"
want 3 00 && ok "a dirty page of zeroes is copied (data, not a hole)" || ko "page 3 is not zeroes"
want 15 22 && ok "the last page is copied" || ko "page 15 is not 0x22"
[ "$(stat -c %s "$work/base")" = 65536 ] && ok "the base keeps its size" || ko "base size changed"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
