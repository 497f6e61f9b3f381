#!/usr/bin/env python3
"""Diff snapshots with dirty page tracking, and the merge tool, against the real ignis.

The counter guest (a 16-bit counter in guest RAM, printed as four hex digits
per line) boots with track_dirty_pages. Paused: a Diff since boot, which
loaded as it is (holes read as zeroes) must run, so the pages ignis wrote
itself (the kernel) were tracked; then a Full snapshot, then at once
a Diff, which must hold no page at all (the Full started a new interval and
the vCPUs were parked). Resumed, counting, paused: a Diff that must be a
sparse file of the full size with only a few pages of data. Resumed again,
paused: a second Diff. The process is SIGKILLed. The diffs are merged in order
onto a copy of the base with ignis-snapshot-editor; a fresh ignis loads the
second Diff's state with the merged memory and its counter must go on from
the second Diff's point (not the Full's, not the first Diff's). The first
Diff merged alone continues from its own point; the second Diff's state
loaded over the unmerged base does not. A VM loaded with track_dirty_pages
takes a Diff relative to its loaded memory file, which merged onto that file
continues from there. Also: a Diff without tracking is
refused with a 400 and the process still takes a Full snapshot. Seccomp is on.
Exits 77 without /dev/kvm.

usage: test_api_snapshot_diff.py IGNIS COUNTER_ELF SNAPSHOT_EDITOR
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_api_snapshot import check, counters, mark, wait_for  # noqa: E402
import test_api_snapshot  # noqa: E402
from test_api_vmm import Ignis  # noqa: E402

MIB = 1 << 20
NO_TRACKING = "Diff snapshots are not allowed on uVMs with dirty page tracking disabled."


def data_bytes(path):
    """Bytes in the data extents SEEK_DATA/SEEK_HOLE report."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size, off, total = os.fstat(fd).st_size, 0, 0
        while off < size:
            try:
                data = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                break
            hole = os.lseek(fd, data, os.SEEK_HOLE)
            total += hole - data
            off = hole
        return total
    finally:
        os.close(fd)


def create(vm, state, mem, kind):
    return vm.fault("PUT", "/snapshot/create",
                    {"snapshot_path": state, "mem_file_path": mem, "snapshot_type": kind})


def pause_after_more(vm, n):
    """Resumes, lets the guest print @n more lines, pauses; returns its Mark."""
    seen = len(counters(vm.out.name))
    s, _ = vm.req("PATCH", "/vm", {"state": "Resumed"})
    ok = wait_for(lambda: len(counters(vm.out.name)) >= seen + n)
    s2, _ = vm.req("PATCH", "/vm", {"state": "Paused"})
    check(f"resume, {n} more lines, pause", s == 204 and ok and s2 == 204, f"({s} {ok} {s2})")
    vm.out.flush()
    return mark(vm.out.name)


def merge(editor, base, diff):
    r = subprocess.run([editor, "edit-memory", "rebase", "--memory-path", base, "--diff-path", diff],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def first_after_load(ignis_bin, workdir, state, mem, since, n=1):
    """Loads in a fresh process with resume_vm; the first @n counter values printed
    after the Mark @since of the VM the state was taken from (or None)."""
    os.mkdir(workdir)
    vm = Ignis(ignis_bin, workdir)
    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state, "resume_vm": True,
                    "mem_backend": {"backend_type": "File", "backend_path": mem}})
    ok = s == 204 and wait_for(lambda: len(counters(vm.out.name, since.tail)) >= max(2, n))
    vals = counters(vm.out.name, since.tail)
    if not ok:
        print(f"load of {state} + {mem}: {s} {f} {open(vm.err_path).read()[-400:]}")
    vm.stop(signal.SIGKILL)
    if not ok or not vals:
        return None
    return vals[0] if n == 1 else vals[:n]


def main():
    ignis_bin, counter, editor = sys.argv[1:4]
    if not os.path.exists("/dev/kvm"):
        print("SKIPPED: needs /dev/kvm")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as work:
        p = lambda *n: os.path.join(work, *n)  # noqa: E731

        # Without tracking: a Diff is refused, nothing is written, a Full still works.
        os.mkdir(p("plain"))
        vm = Ignis(ignis_bin, p("plain"))
        vm.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32})
        vm.req("PUT", "/boot-source", {"kernel_image_path": counter})
        vm.req("PUT", "/actions", {"action_type": "InstanceStart"})
        wait_for(lambda: len(counters(vm.out.name)) >= 2)
        vm.req("PATCH", "/vm", {"state": "Paused"})
        s, f = create(vm, p("x.state"), p("x.mem"), "Diff")
        check("Diff without tracking: 400 with Firecracker's words", s == 400 and f.startswith(NO_TRACKING),
              f"({s} {f})")
        check("... and writes nothing", not os.path.exists(p("x.state")) and not os.path.exists(p("x.mem")))
        s, f = create(vm, p("x.state"), p("x.mem"), "Full")
        check("... and the process still takes a Full snapshot", s == 204, f"({s} {f})")
        vm.stop(signal.SIGKILL)

        os.mkdir(p("run"))
        vm = Ignis(ignis_bin, p("run"))
        vm.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32, "track_dirty_pages": True})
        vm.req("PUT", "/boot-source", {"kernel_image_path": counter})
        s, _ = vm.req("PUT", "/actions", {"action_type": "InstanceStart"})
        check("counter guest with track_dirty_pages starts and counts",
              s == 204 and wait_for(lambda: len(counters(vm.out.name)) >= 3), open(vm.err_path).read()[-300:])
        s, _ = vm.req("PATCH", "/vm", {"state": "Paused"})
        vm.out.flush()
        full_last = mark(vm.out.name)
        s, f = create(vm, p("boot.state"), p("boot.mem"), "Diff")
        check("Diff since boot (no Full before it): 204", s == 204, f"({s} {f})")
        s, f = create(vm, p("full.state"), p("full.mem"), "Full")
        check("Full with tracking: 204", s == 204, f"({s} {f}) {open(vm.err_path).read()[-400:]}")
        s, f = create(vm, p("empty.state"), p("empty.mem"), "Diff")
        check("Diff right after the Full, still paused: 204", s == 204, f"({s} {f}) {open(vm.err_path).read()[-400:]}")
        check("... full-size file with no data at all (the Full reset both bitmaps)",
              os.path.getsize(p("empty.mem")) == 32 * MIB and data_bytes(p("empty.mem")) == 0,
              f"({os.path.getsize(p('empty.mem'))} bytes, {data_bytes(p('empty.mem'))} of data)")

        d1_last = pause_after_more(vm, 3)
        s, f = create(vm, p("d1.state"), p("d1.mem"), "Diff")
        check("Diff after counting: 204", s == 204, f"({s} {f}) {open(vm.err_path).read()[-400:]}")
        st = os.stat(p("d1.mem"))
        d1_data = data_bytes(p("d1.mem"))
        print(f"diff 1: {st.st_size} bytes, {st.st_blocks * 512} allocated, {d1_data} of data")
        check("diff is full-size", st.st_size == 32 * MIB)
        check("diff is sparse: allocated blocks far below its size",
              0 < st.st_blocks * 512 <= 1 * MIB, f"({st.st_blocks * 512})")
        # The Full holds every non-zero page (zero pages are holes there too);
        # the diff only what changed since: the counter's page and little else.
        full_data = data_bytes(p("full.mem"))
        check("diff has data (the counter's page) and less than the Full",
              0 < d1_data < full_data and d1_data <= 1 * MIB,
              f"({d1_data}, full {full_data})")
        check("no temporary files left",
              not [n for n in os.listdir(work) if ".tmp-" in n], f"({os.listdir(work)})")

        d2_last = pause_after_more(vm, 3)
        s, f = create(vm, p("d2.state"), p("d2.mem"), "Diff")
        check("second Diff: 204, sparse", s == 204 and 0 < data_bytes(p("d2.mem")) <= 1 * MIB,
              f"({s} {f})")
        vm.stop(signal.SIGKILL)
        print(f"counter: full {full_last:04x}, diff 1 {d1_last:04x}, diff 2 {d2_last:04x}")
        check("the counter moved between the snapshots", full_last != d1_last != d2_last)

        # Merge: base copy + d1 + d2.
        shutil.copyfile(p("full.mem"), p("merged.mem"))
        rc, out = merge(editor, p("merged.mem"), p("d1.mem"))
        check("merge diff 1 onto a copy of the base: exit 0", rc == 0, f"({rc} {out})")
        shutil.copyfile(p("merged.mem"), p("merged1.mem"))
        rc, out = merge(editor, p("merged.mem"), p("d2.mem"))
        check("merge diff 2 on top: exit 0", rc == 0, f"({rc} {out})")

        first = first_after_load(ignis_bin, p("l2"), p("d2.state"), p("merged.mem"), d2_last)
        check("base + diff 1 + diff 2 loads and counts on from diff 2's point",
              first == (d2_last + 1) & 0xffff, f"(first {first}, diff 2 {d2_last:04x}, full {full_last:04x})")
        # Restored with track_dirty_pages: a Diff is relative to the loaded memory file.
        os.mkdir(p("r"))
        vm = Ignis(ignis_bin, p("r"))
        s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": p("d2.state"), "track_dirty_pages": True,
                        "mem_backend": {"backend_type": "File", "backend_path": p("merged.mem")}})
        check("load with track_dirty_pages: 204, Paused", s == 204, f"({s} {f})")
        d3_last = pause_after_more(vm, 3)
        s, f = create(vm, p("d3.state"), p("d3.mem"), "Diff")
        check("Diff of a restored VM: 204, sparse", s == 204 and 0 < data_bytes(p("d3.mem")) <= 1 * MIB,
              f"({s} {f}) {open(vm.err_path).read()[-400:]}")
        vm.stop(signal.SIGKILL)
        shutil.copyfile(p("merged.mem"), p("merged3.mem"))
        rc, out = merge(editor, p("merged3.mem"), p("d3.mem"))
        first = first_after_load(ignis_bin, p("l3"), p("d3.state"), p("merged3.mem"), d3_last)
        check("the loaded memory + its diff counts on from that diff's point",
              rc == 0 and first == (d3_last + 1) & 0xffff, f"({rc} {out} first {first}, diff 3 {d3_last:04x})")

        first = first_after_load(ignis_bin, p("lb"), p("boot.state"), p("boot.mem"), full_last)
        check("the Diff since boot loads as it is (its holes read as zeroes) and counts on: "
              "the VMM's own writes (the loaded kernel) were tracked",
              first == (full_last + 1) & 0xffff, f"(first {first}, at boot diff {full_last:04x})")
        check("... and it was sparse", data_bytes(p("boot.mem")) <= 1 * MIB, f"({data_bytes(p('boot.mem'))})")

        first = first_after_load(ignis_bin, p("l1"), p("d1.state"), p("merged1.mem"), d1_last)
        check("base + diff 1 loads and counts on from diff 1's point",
              first == (d1_last + 1) & 0xffff, f"(first {first}, diff 1 {d1_last:04x})")
        # The registers are diff 2's (they may finish the line diff 2 paused in),
        # the count in memory the Full's, which the guest may already have
        # incremented for the line it was printing: one of the next two lines
        # is one or two past the Full's last complete one.
        first = first_after_load(ignis_bin, p("l0"), p("d2.state"), p("full.mem"), d2_last, n=2)
        near_full = {(full_last + 1) & 0xffff, (full_last + 2) & 0xffff}
        check("diff 2's state over the unmerged base counts on from the Full's value (the diff matters)",
              first is not None and bool(near_full & set(first)) and d2_last > full_last + 2,
              f"(first {first}, full {full_last:04x}, diff 2 {d2_last:04x})")
    print(f"{test_api_snapshot.passed} passed, {test_api_snapshot.failed} failed")
    sys.exit(1 if test_api_snapshot.failed else 0)


if __name__ == "__main__":
    main()
