#!/usr/bin/env bash
# e2e: the function guest (scripts/guest/build-fn-rootfs.sh) served from a
# cold boot and from its snapshot, in the nested bed. One session:
#   cold  ignis boots the guest (--api-sock with --config-file: read-only
#         ext4 root, eth0 on tap0); fn-invoke POSTs /invoke until the first
#         200: the body's sha256 (computed here too), X-Fn-Invocation 1,
#         then 2, 3 and 4 for three more invocations
#   snapshot  pause, Full snapshot-create, SIGKILL
#   file  a fresh ignis loads it (File backend, resume_vm): the first
#         answer is invocation 5 (the counter in guest RAM went on) with the
#         right digest, and the next is 6
#   rewind  PUT /snapshot/rewind --resume of that guest, twice: each time the
#         first answer is invocation 5 with tmpfs_calls=5 again (neither the
#         server's counter in guest RAM nor the function's file on tmpfs
#         survived), and invocation 6 follows
#   dirty  the same in a guest loaded with --track-dirty-pages, where the
#         rewind drops only the pages written since (log: "the dirty ones")
#   refused  a rewind of the cold-booted guest: 400, nothing to go back to;
#         so is PUT /snapshot/working-set
#   ws    after the File load's invocations, PUT /snapshot/working-set writes
#         the pages touched since the load (logged: N of 32768 pages)
#   prefetch  a fresh ignis refuses a load whose working_set_path is not a
#         working-set file, and one with the Uffd backend, stays Not started,
#         then loads with it: pages populated before the vCPUs ran (logged),
#         invocation 5
#   uffd  the same snapshot through ignis-uffd-handler: invocation 5 again
#         (the same snapshot), a different body's digest
#   uffdws  the same with the handler prefetching the working set (ws):
#         every page of it copied, fewer faults than uffd served
#   pre   a fresh ignis started with --prewarm of that snapshot loads it
#         (File): invocation 5 again, then 6
#   mismatch  a 96 MiB guest's snapshot (small) is refused by a process
#         pre-warmed for the 128 MiB one, with the field that differs; so
#         is a Uffd load; the process is still "Not started" and then loads
#         the snapshot it was pre-warmed for: invocation 5
#
# usage: function.sh IGNIS_BINARY [SOURCE_DIR]   (or env IGNIS_BIN, IGNIS_SRC)
set -euo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
e2e_setup "$@"
# shellcheck source=tests/e2e/net-lib.sh
. "$E2E_DIR/net-lib.sh"
net_find_ip
# shellcheck source=tests/e2e/function-lib.sh
. "$E2E_DIR/function-lib.sh"

bindir=$(dirname "$IGNIS_BIN")
for b in ignis-ctl ignis-uffd-handler; do
	[ -x "$bindir/$b" ] || bed_abort "$b not found next to $IGNIS_BIN (build it)"
done
fn_build_artefacts "$E2E_WORK"
fn_json "$E2E_WORK/fn.json" 128
fn_json "$E2E_WORK/fn-small.json" 96

sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
hello=$(sha hello)
world=$(sha world)

cat >"$E2E_WORK/inner.sh" <<INNER
. /bed/net-l1.sh
IGNIS=/bed/bin/$IGNIS_NAME
CTL=/bed/bin/ignis-ctl
FNI=/bed/bin/fn-invoke
UFFD_HANDLER=/bed/bin/ignis-uffd-handler
. /bed/function-l1.sh
fn_net_up
fn_ig_cold cold hello 4
echo "cold FN_REWIND_REFUSED \$(\$CTL --api-sock /run/fn.sock snapshot-rewind 2>&1 | tr '\n' ' ')"
echo "cold FN_WS_REFUSED \$(\$CTL --api-sock /run/fn.sock snapshot-working-set /bed/cold.ws 2>&1 | tr '\n' ' ')"
fn_ig_snapshot cold
fn_ig_load file hello 2 File
echo "file FN_WS answer:\$(\$CTL --api-sock /run/fn.sock snapshot-working-set /bed/fn.ws 2>&1 | tr '\n' ' ')"
fn_ig_rewind rewind1 hello 2
fn_ig_rewind rewind2 hello 1
fn_ig_stop file
fn_ig_load dirty hello 2 File --track-dirty-pages
fn_ig_rewind dirty-rewind hello 2
fn_ig_stop dirty
fn_ig_start prefetch
echo "notaset" >/bed/junk.ws
echo "prefetch FN_REFUSED_JUNK \$(\$CTL --api-sock /run/fn.sock raw PUT /snapshot/load "\$(fn_load_json /bed/fn.state /bed/fn.mem /bed/junk.ws)" 2>&1 | tr '\n' ' ')"
echo "prefetch FN_REFUSED_WSUFFD \$(\$CTL --api-sock /run/fn.sock raw PUT /snapshot/load '{"snapshot_path": "/bed/fn.state", "mem_backend": {"backend_type": "Uffd", "backend_path": "/run/none.sock"}, "working_set_path": "/bed/fn.ws"}' 2>&1 | tr '\n' ' ')"
echo "prefetch FN_STATE \$(\$CTL --api-sock /run/fn.sock info 2>&1 | tr -d '\n ')"
fn_ig_load_ws prefetch hello 2 /bed/fn.ws
fn_ig_stop prefetch
fn_ig_load uffd world 1 Uffd
fn_ig_stop uffd
UFFD_WS=/bed/fn.ws
fn_ig_load uffdws world 1 Uffd
fn_ig_stop uffdws
UFFD_WS=
fn_ig_prewarm pre
fn_ig_load_into pre hello 2
fn_ig_stop pre

SNAP_STATE=/bed/small.state SNAP_MEM=/bed/small.mem
fn_ig_cold small hello 1 /bed/fn-small.json
fn_ig_snapshot small
SNAP_STATE=/bed/fn.state SNAP_MEM=/bed/fn.mem
fn_ig_prewarm mismatch
echo "mismatch FN_REFUSED_SHAPE \$(\$CTL --api-sock /run/fn.sock snapshot-load /bed/small.state /bed/small.mem --resume 2>&1 | tr '\n' ' ')"
echo "mismatch FN_REFUSED_UFFD \$(\$CTL --api-sock /run/fn.sock snapshot-load /bed/fn.state /run/no-handler.sock --resume --uffd 2>&1 | tr '\n' ' ')"
echo "mismatch FN_STATE \$(\$CTL --api-sock /run/fn.sock info 2>&1 | tr -d '\n ')"
fn_ig_load_into mismatch hello 1
fn_ig_stop mismatch
echo FN_DONE
INNER

e2e_run_bed "$E2E_WORK/inner.sh" --timeout 600 --bin "$bindir/ignis-ctl" \
	--bin "$bindir/ignis-uffd-handler" --bin "$FN_INVOKE" --bin "$NET_IP" \
	--file "$E2E_DIR/net-l1.sh" --file "$E2E_DIR/function-l1.sh" \
	--file "$FN_ROOTFS:fn-rootfs.ext4"

grep -aq '^FN_DONE' "$E2E_LOG" || bed_fail "the L1 script did not finish (no FN_DONE)"
if grep -aq ' FN_STEP_FAILED' "$E2E_LOG"; then
	bed_fail "a step failed: $(grep -a ' FN_STEP_FAILED' "$E2E_LOG" | head -n 3 | tr '\n' ' ')"
fi
fn_check_first cold 1 "$hello"
fn_check_warm cold 2 3 4
case "$(e2e_value "cold FN_SNAPSHOT")" in
ok*) bed_pass "cold: Full snapshot of the served guest ($(e2e_value "cold FN_SNAPSHOT"))" ;;
*) bed_fail "cold: no snapshot" ;;
esac
fn_check_first file 5 "$hello"
fn_check_warm file 6
fn_check_calls file 5
for t in rewind1 rewind2 dirty-rewind; do
	fn_check_first "$t" 5 "$hello"
	fn_check_calls "$t" 5
done
fn_check_warm rewind1 6
fn_check_warm dirty-rewind 6
if grep -aq '^dirty FN_LOG .*snapshot rewind: [0-9]* guest pages dropped back to the memory file (the dirty ones)' "$E2E_LOG"; then
	bed_pass "dirty: the rewind dropped only the dirty pages ($(grep -a '^dirty FN_LOG .*snapshot rewind' "$E2E_LOG" | head -n1 | sed 's/.*rewind: //'))"
else
	bed_fail "dirty: no 'snapshot rewind: N guest pages dropped ... (the dirty ones)' log line"
fi
case "$(e2e_value "cold FN_WS_REFUSED")" in
*"400: Working set error: the microVM was not loaded from a snapshot"*) bed_pass "refused: a cold-booted microVM has no working set of a memory file" ;;
*) bed_fail "refused: working set of a cold-booted microVM answered: $(e2e_value "cold FN_WS_REFUSED")" ;;
esac
ws_line=$(grep -a '^file FN_LOG .*working set: [0-9]* of 32768 pages' "$E2E_LOG" | head -n1 || true)
if [ -n "$ws_line" ] && [ "$(e2e_value "file FN_WS")" = "answer:" ]; then
	bed_pass "ws: the working set was written (${ws_line#*working set: })"
else
	bed_fail "ws: PUT /snapshot/working-set: $(e2e_value "file FN_WS"); log: ${ws_line:-none}"
fi
fn_check_refused_in prefetch FN_REFUSED_JUNK "Load snapshot error: working set /bed/junk.ws:"
fn_check_refused_in prefetch FN_REFUSED_WSUFFD "working_set_path is for the File backend"
case "$(e2e_value "prefetch FN_STATE")" in
*'"state":"Notstarted"'*) bed_pass "prefetch: after the refusals the process is still Not started" ;;
*) bed_fail "prefetch: GET / after the refusals: $(e2e_value "prefetch FN_STATE")" ;;
esac
fn_check_first prefetch 5 "$hello"
if grep -aq '^prefetch FN_LOG .*snapshot load: prefetched [1-9][0-9]* pages' "$E2E_LOG"; then
	bed_pass "prefetch: $(grep -a '^prefetch FN_LOG .*prefetched' "$E2E_LOG" | head -n1 | sed 's/.*load: //')"
else
	bed_fail "prefetch: no 'snapshot load: prefetched N pages' log line"
fi
case "$(e2e_value "cold FN_REWIND_REFUSED")" in
*"400: Rewind error: the microVM was not loaded from a snapshot"*) bed_pass "refused: a cold-booted microVM has nothing to rewind to" ;;
*) bed_fail "refused: rewind of a cold-booted microVM answered: $(e2e_value "cold FN_REWIND_REFUSED")" ;;
esac
fn_check_first uffd 5 "$world"
fn_check_first uffdws 5 "$world"
# The prefetching handler copied the whole working set and then served
# fewer faults than the lazy one did for the same invocation.
faults() { grep -a "^$1 FN_UFFD .*faults; exiting" "$E2E_LOG" | sed -n 's/.*after \([0-9]*\) faults; exiting.*/\1/p' | tail -n1; }
pf=$(grep -a '^uffdws FN_UFFD .*prefetched' "$E2E_LOG" | head -n1 | tr -d '\r')
case "$pf" in
*"prefetched "[1-9]*" of "[1-9]*" working-set pages"*)
	n_copied=$(printf '%s' "$pf" | sed -n 's/.*prefetched \([0-9]*\) of \([0-9]*\) .*/\1 \2/p')
	if [ "${n_copied% *}" = "${n_copied#* }" ]; then
		bed_pass "uffdws: the handler prefetched the working set (${pf#*handler: })"
	else
		bed_fail "uffdws: not every working-set page was copied: $pf"
	fi ;;
*) bed_fail "uffdws: no 'prefetched N of N working-set pages' from the handler (${pf:-nothing})" ;;
esac
lazy=$(faults uffd) eager=$(faults uffdws)
if [ -n "$lazy" ] && [ -n "$eager" ] && [ "$eager" -lt "$lazy" ]; then
	bed_pass "uffdws: $eager faults after prefetching against $lazy without"
else
	bed_fail "uffdws: faults with prefetch '${eager:-?}', without '${lazy:-?}'"
fi
fn_check_first pre 5 "$hello"
fn_check_warm pre 6
if grep -aq '^pre FN_LOG .*pre-warmed for snapshots like /bed/fn.state' "$E2E_LOG"; then
	bed_pass "pre: ignis logged what it pre-warmed"
else
	bed_fail "pre: no 'pre-warmed for snapshots like' log line"
fi
fn_check_refused FN_REFUSED_SHAPE "does not match the pre-warmed microVM: mem_size_mib 96 here, 128 in the pre-warmed microVM"
fn_check_refused FN_REFUSED_UFFD "a Uffd load needs a process started without --prewarm"
case "$(e2e_value "mismatch FN_STATE")" in
*'"state":"Notstarted"'*) bed_pass "mismatch: after the refusals the process is still Not started" ;;
*) bed_fail "mismatch: GET / after the refusals: $(e2e_value "mismatch FN_STATE")" ;;
esac
fn_check_first mismatch 5 "$hello"
bed_summary "e2e function"
