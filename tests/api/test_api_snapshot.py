#!/usr/bin/env python3
"""Snapshot create and load (File backend, Full) against the real ignis.

The counter guest prints a 16-bit counter kept in guest memory as four hex
digits per line. It is started, paused and snapshotted; the process is
SIGKILLed; a new ignis loads the snapshot with resume_vm and its console
must go on from the last value printed (not from 0000). Also: create while
running is refused, Diff without dirty page tracking is refused (Diff
snapshots: test_api_snapshot_diff.py), Uffd without a handler is refused, a load
after configuring boot resources gets Firecracker's message, and a corrupt
state file is refused with a clear 400 while the process still accepts a
correct load. Seccomp is on (the default). Exits 77 without /dev/kvm.

usage: test_api_snapshot.py IGNIS COUNTER_ELF
"""
import os
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_api_vmm import Ignis, LOAD_AFTER  # noqa: E402

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"PASS: {name}")
    else:
        failed += 1
        print(f"FAIL: {name} {detail}")


def counters(path, tail=b""):
    """The counter values in console file @path, complete lines only.

    A pause can land in the middle of a line, and the restored guest then
    prints the rest of it: @tail, what the source VM printed after its last
    newline (Mark.tail), makes the two consoles one stream, as it is.
    """
    vals = []
    for line in (tail + open(path, "rb").read()).split(b"\n")[:-1]:
        if len(line) == 4:
            try:
                vals.append(int(line, 16))
            except ValueError:
                pass
    return vals


class Mark(int):
    """The last complete counter value a paused VM printed, and what followed it."""

    tail = b""


def mark(path):
    """Mark of console file @path: its last complete value (-1 if none) and the rest."""
    data = open(path, "rb").read()
    vals = counters(path)
    m = Mark(vals[-1] if vals else -1)
    m.tail = data[data.rfind(b"\n") + 1:]
    return m


def wait_for(cond, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


def main():
    ignis_bin, counter = sys.argv[1:3]
    if not os.path.exists("/dev/kvm"):
        print("SKIPPED: needs /dev/kvm")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as work:
        d1, d2, d3 = (os.path.join(work, n) for n in ("a", "b", "c"))
        for d in (d1, d2, d3):
            os.mkdir(d)
        state, mem = os.path.join(work, "vm.state"), os.path.join(work, "vm.mem")

        vm = Ignis(ignis_bin, d1)
        vm.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32})
        vm.req("PUT", "/boot-source", {"kernel_image_path": counter, "boot_args": "console=ttyS0"})
        s, _ = vm.req("PUT", "/actions", {"action_type": "InstanceStart"})
        check("counter guest starts", s == 204, f"({s})")
        check("counter guest counts", wait_for(lambda: len(counters(vm.out.name)) >= 5),
              open(vm.err_path).read()[-300:])
        s, f = vm.fault("PUT", "/snapshot/create", {"snapshot_path": state, "mem_file_path": mem})
        check("create while running: 400 (must be paused)", s == 400 and "paused" in f, f"({s} {f})")
        s, _ = vm.req("PATCH", "/vm", {"state": "Paused"})
        check("pause", s == 204)
        s, f = vm.fault("PUT", "/snapshot/create",
                        {"snapshot_path": state, "mem_file_path": mem, "snapshot_type": "Diff"})
        check("Diff without track_dirty_pages: 400", s == 400 and "dirty page tracking disabled" in f,
              f"({s} {f})")
        t0 = time.time()
        s, f = vm.fault("PUT", "/snapshot/create",
                        {"snapshot_path": state, "mem_file_path": mem, "snapshot_type": "Full"})
        check("create while paused (seccomp on): 204", s == 204, f"({s} {f}) {open(vm.err_path).read()[-400:]}")
        print(f"create took {time.time() - t0:.3f}s")
        check("memory file is 32 MiB", os.path.exists(mem) and os.path.getsize(mem) == 32 << 20)
        st = os.stat(mem)
        check("Full memory file is sparse: the counter guest's zero pages are holes",
              st.st_blocks * 512 < (4 << 20), f"({st.st_blocks * 512} bytes allocated)")
        check("no temporary files left", sorted(os.listdir(work)) == ["a", "b", "c", "vm.mem", "vm.state"],
              f"({os.listdir(work)})")
        time.sleep(0.3)
        last = mark(vm.out.name)
        vm.stop(signal.SIGKILL)
        print(f"last counter before the snapshot: {last:04x}")

        # A process that configured boot resources cannot load.
        vm = Ignis(ignis_bin, d2)
        vm.req("PUT", "/boot-source", {"kernel_image_path": counter})
        s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state,
                        "mem_backend": {"backend_type": "File", "backend_path": mem}})
        check("load after boot-source: Firecracker's message", s == 400 and f == LOAD_AFTER, f"({s} {f})")
        vm.stop(signal.SIGKILL)

        vm = Ignis(ignis_bin, d3)
        s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state,
                        "mem_backend": {"backend_type": "Uffd", "backend_path": os.path.join(work, "none.sock")}})
        check("Uffd without a handler: 400 cannot connect", s == 400 and "cannot connect" in f, f"({s} {f})")
        # A "handler" that listens but never accepts, its backlog already full:
        # the load gives up after the hand-over time instead of hanging the VMM.
        stuck_path = os.path.join(work, "stuck.sock")
        stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stuck.bind(stuck_path)
        stuck.listen(0)
        fillers = []
        for _ in range(4):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(stuck_path)
            except BlockingIOError:
                c.close()
                break
            fillers.append(c)
        t0 = time.time()
        s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state,
                        "mem_backend": {"backend_type": "Uffd", "backend_path": stuck_path}})
        took = time.time() - t0
        check("Uffd handler that never accepts: 400 within the hand-over time",
              s == 400 and "did not accept the connection" in f and took < 15, f"({s} {f} after {took:.1f}s)")
        check("... and the API still answers", vm.req("GET", "/")[0] == 200)
        for c in fillers:
            c.close()
        stuck.close()
        bad = os.path.join(work, "bad.state")
        data = bytearray(open(state, "rb").read())
        data[len(data) // 2] ^= 0xff
        open(bad, "wb").write(data)
        s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": bad,
                        "mem_backend": {"backend_type": "File", "backend_path": mem}})
        check("corrupt state file: 400 naming the CRC", s == 400 and "corrupt" in f, f"({s} {f})")
        s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state, "mem_file_path": bad})
        check("wrong-size memory file: 400", s == 400 and "memory file" in f, f"({s} {f})")
        s, info = vm.req("GET", "/")
        check("still Not started after failed loads", info["state"] == "Not started", f"({info})")
        t0 = time.time()
        s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state, "resume_vm": True,
                        "mem_backend": {"backend_type": "File", "backend_path": mem}})
        check("correct load after failed ones: 204", s == 204, f"({s} {f}) {open(vm.err_path).read()[-400:]}")
        print(f"load took {time.time() - t0:.3f}s")
        s, info = vm.req("GET", "/")
        check("state Running after resume_vm", info.get("state") == "Running", f"({info})")
        s, cfg = vm.req("GET", "/vm/config")
        check("GET /vm/config has the snapshot's machine config",
              s == 200 and cfg["machine-config"]["mem_size_mib"] == 32 and cfg["machine-config"]["vcpu_count"] == 1,
              f"({cfg})")
        ok = wait_for(lambda: len(counters(vm.out.name, last.tail)) >= 3)
        after = counters(vm.out.name, last.tail)
        check("restored guest prints", ok, open(vm.err_path).read()[-400:])
        check("counter continues from the snapshot (first > last, not from 0)",
              after and after[0] == (last + 1) & 0xffff and after[0] != 1,
              f"(last {last:04x}, after {[hex(v) for v in after[:5]]})")
        check("restored console holds no boot banner", b"C\n" not in open(vm.out.name, "rb").read()[:2])
        s, _ = vm.req("PATCH", "/vm", {"state": "Paused"})
        s2, f = vm.fault("PUT", "/snapshot/create", {"snapshot_path": state + "2", "mem_file_path": mem + "2"})
        check("a restored VM can be snapshotted again", s == 204 and s2 == 204, f"({s2} {f})")
        time.sleep(0.2)
        last2 = mark(vm.out.name)
        rc = vm.stop()
        check("restored VM stops on SIGTERM", rc is not None, f"({rc})")

        # A load without resume_vm leaves the VM Paused until PATCH /vm Resumed.
        d4 = os.path.join(work, "d")
        os.mkdir(d4)
        vm = Ignis(ignis_bin, d4)
        s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state + "2",
                        "mem_backend": {"backend_type": "File", "backend_path": mem + "2"}})
        s2, info = vm.req("GET", "/")
        time.sleep(0.3)
        check("load without resume_vm: Paused, guest silent",
              s == 204 and info.get("state") == "Paused" and counters(vm.out.name) == [], f"({s} {f} {info})")
        s, _ = vm.req("PATCH", "/vm", {"state": "Resumed"})
        ok = wait_for(lambda: len(counters(vm.out.name, last2.tail)) >= 2)
        after = counters(vm.out.name, last2.tail)
        check("PATCH /vm Resumed: counter continues from the second snapshot",
              s == 204 and ok and after[0] == (last2 + 1) & 0xffff,
              f"(last {last2:04x}, after {[hex(v) for v in after[:5]]})")
        vm.stop()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
