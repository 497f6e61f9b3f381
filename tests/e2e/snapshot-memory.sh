#!/usr/bin/env bash
# e2e: the memory side of snapshots with a Linux guest, in the nested bed.
# The guest is the busybox initramfs printing `CNT <n>` every 0.2 s (1 vCPU,
# 128 MiB). Every restore must go on from the last value printed before its
# snapshot (first after = last before + 1) and keep counting.
#
#   diff     booted with track_dirty_pages and a read-only 8 MiB data drive
#            (/dev/vda; every 25th count the guest prints its md5): pause,
#            Full snapshot (the base, before the first read of the drive),
#            resume, count past 25 (the drive is now in the guest's page cache:
#            pages only ignis wrote, which KVM's dirty log never sees), pause,
#            Diff snapshot, SIGKILL. The Diff memory file is sparse (allocated
#            far below its size); ignis-snapshot-editor rebases it onto a copy
#            of the base; the Diff state + merged memory restore (File backend)
#            and the md5 at count 50, read from that page cache, is the same.
#   uffd     the same Diff state + merged memory through the Uffd backend,
#            with the example handler ignis-uffd-handler serving the faults.
#   huge     booted on 2 MiB hugepages: Full snapshot, SIGKILL, File restore:
#            the restored guest is on hugepages again (HugePages_Free drops by
#            its 64 pages while it runs: File onto hugepages reads eagerly).
#   hugeuffd the hugepage snapshot through Uffd: the handler serves 2 MiB
#            pages, lazily (some, at most 64, hugepages taken while it runs).
#
# usage: snapshot-memory.sh IGNIS_BINARY [SOURCE_DIR]   (or env IGNIS_BIN, IGNIS_SRC)
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
e2e_setup "$@"

bindir=$(dirname "$IGNIS_BIN")
for tool in ignis-ctl ignis-snapshot-editor ignis-uffd-handler; do
	[ -x "$bindir/$tool" ] || bed_abort "$tool not found next to $IGNIS_BIN (build it)"
done

cat >"$E2E_WORK/inner.sh" <<INNER
set -u
. /bed/case.sh
IGNIS=/bed/bin/$IGNIS_NAME
STEP_TAG=SM
. /bed/snapshot-l1.sh
# wait_count FILE N: until the console's last count is at least N (60 s at most).
wait_count() {
	_end=\$((\$(date +%s) + 60))
	until [ "\$(last "\$1")" -ge "\$2" ] 2>/dev/null; do
		if [ \$(date +%s) -ge \$_end ]; then
			echo "SM_STALL \$1 at \$(last "\$1"), waiting for \$2"
			bed_dump_proc \$pid
			return 1
		fi
		sleep 0.1
	done
}
hp_free() { awk '/^HugePages_Free:/ { print \$2 }' /proc/meminfo; }
ctl() { # SOCK ARGS...
	_sock=\$1
	shift
	/bed/bin/ignis-ctl --api-sock "\$_sock" --timeout 60 "\$@"
}
boot() { # SOCK CONSOLE HUGE TRACK [DRIVE_FILE]
	start_ignis "\$1" "\$2"
	step ctl "\$1" raw PUT /boot-source '{"kernel_image_path": "/bed/vmlinux", "initrd_path": "/bed/initramfs", "boot_args": "$BED_IGNIS_ARGS -- i=0; while :; do i=\$((i+1)); echo CNT \$i; [ -b /dev/vda ] && [ \$((i % 25)) = 0 ] && echo MD5 \$i \$(md5sum </dev/vda); sleep 0.2; done"}'
	step ctl "\$1" raw PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"\$3\", \"track_dirty_pages\": \$4}"
	[ -n "\${5:-}" ] && step ctl "\$1" raw PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"\$5\", \"is_root_device\": false, \"is_read_only\": true}"
	step ctl "\$1" start
	wait_count "\$2" 5
}
# restore NAME STATE BACKEND PATH SOURCE_CONSOLE [COUNT]: a fresh ignis
# loads and resumes; prints what the checks need once the count is 5 past the
# first (or COUNT), then stops it. The first count is read from the source's
# console and this one joined (snapshot-l1.sh first_joined).
restore() {
	start_ignis /run/\$1.sock /bed/\$1.console
	step ctl /run/\$1.sock raw PUT /snapshot/load "{\"snapshot_path\": \"\$2\", \"mem_backend\": {\"backend_type\": \"\$3\", \"backend_path\": \"\$4\"}, \"resume_vm\": true}"
	sleep 2
	echo "SM_HP_FREE_DURING \$1 \$(hp_free)"
	wait_count /bed/\$1.console \${6:-\$((\$(first /bed/\$1.console) + 5))} 2>/dev/null
	grep -a '^MD5 ' /bed/\$1.console | tr -d '\r' | sed "s/^/SM_MD5 \$1 /"
	echo "SM_FIRST_AFTER \$1 \$(first_joined \$5 /bed/\$1.console)"
	echo "SM_LAST_AFTER \$1 \$(last /bed/\$1.console)"
	kill \$pid
	wait \$pid 2>/dev/null
}

# --- diff, then uffd on the same files --------------------------------------
dd if=/dev/urandom of=/tmp/data.img bs=1M count=8 2>/dev/null
echo "SM_DATA_MD5 \$(md5sum </tmp/data.img)"
boot /run/a.sock /bed/a.console None true /tmp/data.img
step ctl /run/a.sock pause
echo "SM_BASE_AT \$(last /bed/a.console)"
step ctl /run/a.sock snapshot-create /bed/base.state /bed/base.mem
step ctl /run/a.sock resume
wait_count /bed/a.console 30
grep -a '^MD5 ' /bed/a.console | tr -d '\r' | sed 's/^/SM_MD5 a /'
step ctl /run/a.sock pause
sleep 0.5
echo "SM_LAST_BEFORE diff \$(last_complete /bed/a.console)"
echo "SM_LAST_BEFORE uffd \$(last_complete /bed/a.console)"
step ctl /run/a.sock raw PUT /snapshot/create '{"snapshot_path": "/bed/diff.state", "mem_file_path": "/bed/diff.mem", "snapshot_type": "Diff"}'
kill -9 \$pid
wait \$pid 2>/dev/null
echo "SM_DIFF_SIZE \$(stat -c %s /bed/diff.mem) \$((\$(stat -c %b /bed/diff.mem) * \$(stat -c %B /bed/diff.mem)))"
cp /bed/base.mem /bed/merged.mem
step /bed/bin/ignis-snapshot-editor edit-memory rebase --memory-path /bed/merged.mem --diff-path /bed/diff.mem
restore diff /bed/diff.state File /bed/merged.mem /bed/a.console 52
/bed/bin/ignis-uffd-handler /run/handler.sock /bed/merged.mem 2>/bed/uffd.err &
handler=\$!
sleep 0.5
restore uffd /bed/diff.state Uffd /run/handler.sock /bed/a.console 52
kill \$handler 2>/dev/null
wait \$handler 2>/dev/null
# awk ends every line, also one the killed handler left unfinished, so the
# next marker starts a line of its own.
awk '{ print "SM_UFFD_ERR " \$0 }' /bed/uffd.err | tail -n 5
rm -f /bed/base.mem /bed/diff.mem /bed/merged.mem

# --- hugepages: File, then Uffd ----------------------------------------------
echo "SM_HP_FREE_IDLE \$(hp_free)"
boot /run/c.sock /bed/c.console 2M false
step ctl /run/c.sock pause
sleep 0.5
echo "SM_LAST_BEFORE huge \$(last_complete /bed/c.console)"
echo "SM_LAST_BEFORE hugeuffd \$(last_complete /bed/c.console)"
step ctl /run/c.sock snapshot-create /bed/huge.state /bed/huge.mem
kill -9 \$pid
wait \$pid 2>/dev/null
restore huge /bed/huge.state File /bed/huge.mem /bed/c.console
/bed/bin/ignis-uffd-handler /run/handler2.sock /bed/huge.mem 2>/bed/uffd2.err &
handler=\$!
sleep 0.5
restore hugeuffd /bed/huge.state Uffd /run/handler2.sock /bed/c.console
kill \$handler 2>/dev/null
wait \$handler 2>/dev/null
# awk ends every line, also one the killed handler left unfinished, so the
# next marker starts a line of its own.
awk '{ print "SM_UFFD2_ERR " \$0 }' /bed/uffd2.err | tail -n 5
sed 's/^/SM_ERR /' /bed/ignis.err | grep -v 'rx \|tx ' | tail -n 25
INNER

# 1 vCPU: this test is about the memory side, not SMP. In the nested bed,
# stalls that freeze L1 outright come mostly with 2-vCPU guests (no heartbeat, no soft
# lockup: TCG looping; scripts/bed/README.md); e2e.snapshot keeps the
# 2-vCPU restore covered.
e2e_run_bed "$E2E_WORK/inner.sh" --timeout 300 --hugepages 80 --mem 2048 \
	--file "$E2E_DIR/snapshot-l1.sh" \
	--bin "$bindir/ignis-ctl" --bin "$bindir/ignis-snapshot-editor" --bin "$bindir/ignis-uffd-handler"


if grep -aq '^SM_STEP_FAILED' "$E2E_LOG"; then
	bed_fail "a step failed: $(grep -a '^SM_STEP_FAILED' "$E2E_LOG" | head -3 | tr '\n' ' ')"
else
	bed_pass "every API call and tool run succeeded"
fi
read -r size alloc <<<"$(e2e_value SM_DIFF_SIZE)"
if [ -n "${size:-}" ] && [ "$size" -eq $((128 << 20)) ] && [ "${alloc:-0}" -gt 0 ] &&
	[ "$alloc" -lt $((size / 4)) ]; then
	bed_pass "diff: the Diff memory file is sparse ($((alloc >> 10)) KiB allocated of $((size >> 20)) MiB)"
else
	bed_fail "diff: Diff memory file size '${size:-?}', allocated '${alloc:-?}' (want 128 MiB, under a quarter allocated)"
fi
data_md5=$(e2e_value SM_DATA_MD5 | cut -d' ' -f1)
base_at=$(e2e_value SM_BASE_AT)
if [ -n "${base_at:-}" ] && [ "$base_at" -lt 25 ]; then
	bed_pass "diff: the base snapshot was taken at count $base_at, before the guest first read its drive"
else
	bed_fail "diff: the base snapshot was taken at count ${base_at:-?}, not before 25"
fi
for name in a diff uffd; do
	want=25
	[ $name = a ] || want=50
	got=$(e2e_value "SM_MD5 $name MD5 $want" | cut -d' ' -f1)
	if [ -n "$data_md5" ] && [ "$got" = "$data_md5" ]; then
		bed_pass "$name: the guest's md5 of its drive at count $want is the drive's"
	else
		bed_fail "$name: md5 of /dev/vda at count $want '${got:-none}', the drive's is '${data_md5:-?}'"
	fi
done
for name in diff uffd huge hugeuffd; do
	before=$(e2e_value "SM_LAST_BEFORE $name")
	first=$(e2e_value "SM_FIRST_AFTER $name")
	after=$(e2e_value "SM_LAST_AFTER $name")
	if [ -n "${before:-}" ] && [ -n "${first:-}" ] && [ "$first" -eq $((before + 1)) ] &&
		[ -n "${after:-}" ] && [ "$after" -gt "$first" ]; then
		bed_pass "$name: the restored guest continues the count (last before $before, first after $first, then $after)"
	else
		bed_fail "$name: the count does not continue (last before ${before:-?}, first after ${first:-?}, last ${after:-?})"
	fi
done
idle=$(e2e_value SM_HP_FREE_IDLE)
# File reads all 64 pages in at load; Uffd fills those the guest touches.
for name in huge:64:64 hugeuffd:1:64; do
	IFS=: read -r name lo hi <<<"$name"
	during=$(e2e_value "SM_HP_FREE_DURING $name")
	taken=$((${idle:-0} - ${during:-0}))
	if [ -n "${idle:-}" ] && [ -n "${during:-}" ] && [ "$taken" -ge "$lo" ] && [ "$taken" -le "$hi" ]; then
		bed_pass "$name: the restored guest is on hugepages ($taken of $idle free pages taken)"
	else
		bed_fail "$name: HugePages_Free ${idle:-?} idle, ${during:-?} while restored (want $lo..$hi taken)"
	fi
done
if grep -a '^SM_UFFD2_ERR' "$E2E_LOG" | grep -q '2097152-byte pages'; then
	bed_pass "hugeuffd: the handler was handed 2 MiB pages"
else
	bed_fail "hugeuffd: the handler did not report 2 MiB pages"
fi
if [ "$bed_failures" -gt 0 ]; then
	grep -a '^SM_ERR\|^SM_UFFD\|^SM_STALL\|^BED_PROC' "$E2E_LOG" | sed 's/^/  /'
fi

bed_summary "e2e snapshot-memory"
