#!/usr/bin/env python3
"""Snapshot load with the Uffd memory backend and onto 2 MiB hugepages.

The counter guest (tests/guest/counter.S) is snapshotted and the process
SIGKILLed. The example handler refuses hostile handshakes (no fd, a region
outside the memory file, not JSON). A fresh ignis refuses, each with a 400
and without leaving anything behind: an unknown backend_type, a missing
handler socket, a socket nobody listens on, a handler that closes the
connection at once, one that never reads (after ignis's 5 s), a bad
huge_pages value. Then it loads the snapshot with the example handler
(ignis-uffd-handler) serving guest RAM, and the counter must go on from the
snapshot; snapshotting that VM again pulls every page through the handler,
and the result loads with File; the handler must exit when ignis does, and
ignis must say so when the handler dies first. With a handler that takes
the uffd and never serves, ignis must still stop on SIGTERM.

Then the same with a guest on 2 MiB hugetlbfs pages, if this host lets the
test reserve them (/proc/sys/vm/nr_hugepages, restored afterwards): File
backend (read eagerly into hugepages), Uffd backend (2 MiB pages from the
handler), and with no hugepages left a 400 that points at nr_hugepages.
Exits 77 without /dev/kvm.

usage: test_api_snapshot_uffd.py IGNIS COUNTER_ELF UFFD_HANDLER
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_api_vmm import Ignis  # noqa: E402
import test_api_snapshot as base  # noqa: E402

check, counters, wait_for = base.check, base.counters, base.wait_for
NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
GUEST_MIB = 32


def uffd(path):
    return {"backend_type": "Uffd", "backend_path": path}


def snapshot_counter(ignis_bin, counter, work, name, huge="None"):
    """Boots the counter guest, snapshots it paused, SIGKILLs it: (state, mem, last count)."""
    d = os.path.join(work, name)
    os.mkdir(d)
    state, mem = os.path.join(work, name + ".state"), os.path.join(work, name + ".mem")
    vm = Ignis(ignis_bin, d)
    vm.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": GUEST_MIB, "huge_pages": huge})
    vm.req("PUT", "/boot-source", {"kernel_image_path": counter})
    s, f = vm.fault("PUT", "/actions", {"action_type": "InstanceStart"})
    ok = s == 204 and wait_for(lambda: len(counters(vm.out.name)) >= 3)
    check(f"{name}: counter guest ({huge} pages) runs", ok, f"({s} {f}) {open(vm.err_path).read()[-300:]}")
    vm.req("PATCH", "/vm", {"state": "Paused"})
    s, f = vm.fault("PUT", "/snapshot/create", {"snapshot_path": state, "mem_file_path": mem})
    check(f"{name}: snapshot created", s == 204, f"({s} {f})")
    time.sleep(0.2)
    last = base.mark(vm.out.name)
    vm.stop(signal.SIGKILL)
    return state, mem, last


class Handler:
    """The example handler on SOCKET for MEMFILE; waits until it listens."""

    def __init__(self, binary, sock, mem, log):
        self.log = log
        self.proc = subprocess.Popen([binary, sock, mem], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
        wait_for(lambda: "listening" in open(log).read() or self.proc.poll() is not None)

    def text(self):
        return open(self.log).read()

    def wait(self):
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None


def load_and_count(vm, body, last, what):
    s, f = vm.fault("PUT", "/snapshot/load", body)
    check(f"{what}: load 204", s == 204, f"({s} {f}) {open(vm.err_path).read()[-400:]}")
    ok = s == 204 and wait_for(lambda: len(counters(vm.out.name, last.tail)) >= 3)
    after = counters(vm.out.name, last.tail)
    check(f"{what}: counter continues from the snapshot",
          ok and after[0] == (last + 1) & 0xffff and after[0] != 1,
          f"(last {last:04x}, after {[hex(v) for v in after[:5]]})")
    return s == 204


def refusals(ignis_bin, work, state, mem):
    d = os.path.join(work, "refusals")
    os.mkdir(d)
    vm = Ignis(ignis_bin, d)
    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state,
                    "mem_backend": {"backend_type": "Mmap", "backend_path": mem}})
    check("unknown backend_type: 400", s == 400 and 'expected "File" or "Uffd"' in f, f"({s} {f})")
    missing = os.path.join(work, "nobody.sock")
    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state, "mem_backend": uffd(missing)})
    check("Uffd, no socket: 400 naming the path and ENOENT",
          s == 400 and f.startswith("Load snapshot error: cannot connect to the page-fault handler at "
                                    + missing) and "No such file" in f, f"({s} {f})")

    # Bound but not listening: connection refused.
    deaf_path = os.path.join(work, "deaf.sock")
    deaf = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deaf.bind(deaf_path)
    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state, "mem_backend": uffd(deaf_path)})
    check("Uffd, nobody listening: 400 connection refused",
          s == 400 and "Connection refused" in f and "is a handler listening" in f, f"({s} {f})")
    deaf.close()

    # A "handler" that accepts and closes without reading the message.
    rude_path = os.path.join(work, "rude.sock")
    rude = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    rude.bind(rude_path)
    rude.listen(1)

    def accept_and_close():
        c, _ = rude.accept()
        c.close()
    t = threading.Thread(target=accept_and_close)
    t.start()
    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state, "mem_backend": uffd(rude_path)})
    t.join()
    rude.close()
    check("Uffd, handler closes at once: 400",
          s == 400 and f.startswith("Load snapshot error:") and "page-fault handler" in f, f"({s} {f})")

    # A "handler" that accepts and never reads: ignis gives up after 5 s.
    mute_path = os.path.join(work, "mute.sock")
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.bind(mute_path)
    mute.listen(1)
    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state, "mem_backend": uffd(mute_path)})
    mute.close()
    check("Uffd, handler never reads: 400",
          s == 400 and "did not receive the userfaultfd within 5 s" in f, f"({s} {f})")

    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state, "huge_pages": "1G",
                    "mem_backend": {"backend_type": "File", "backend_path": mem}})
    check("huge_pages \"1G\": 400", s == 400 and "huge_pages" in f, f"({s} {f})")
    s, info = vm.req("GET", "/")
    check("still Not started after the refusals", info["state"] == "Not started", f"({info})")
    fds = os.listdir(f"/proc/{vm.proc.pid}/fd")
    links = [os.readlink(f"/proc/{vm.proc.pid}/fd/{x}") for x in fds]
    check("no userfaultfd or handler socket left open",
          not any("userfaultfd" in x for x in links), f"({links})")
    return vm


def handler_refuses(handler_bin, work, mem):
    """The example handler exits 1 on a hostile handshake instead of serving it."""
    size = os.path.getsize(mem)
    cases = [
        ("no fd", b'[{"base_host_virt_addr":4096,"size":4096,"offset":0,"page_size":4096}]', False,
         "exactly one file descriptor"),
        ("region past the end of the file",
         ('[{"base_host_virt_addr":4096,"size":%d,"offset":4096,"page_size":4096}]' % size).encode(), True,
         "refusing the regions: region 0: bytes 4096.."),
        ("not JSON", b"[{", True, "refusing the regions: not JSON"),
    ]
    for i, (what, msg, with_fd, needle) in enumerate(cases):
        hsock = os.path.join(work, f"hostile{i}.sock")
        h = Handler(handler_bin, hsock, mem, os.path.join(work, f"hostile{i}.err"))
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(hsock)
        if with_fd:
            fd = os.open("/dev/null", os.O_RDONLY)
            socket.send_fds(c, [msg], [fd])
            os.close(fd)
        else:
            c.sendall(msg)
        rc = h.wait()
        c.close()
        check(f"example handler, {what}: exit 1 saying why", rc == 1 and needle in h.text(),
              f"({rc}) {h.text()[-300:]}")


def stuck_handler(ignis_bin, work, state):
    """A handler that takes the uffd and never serves a page: ignis still stops on SIGTERM."""
    path = os.path.join(work, "stuck.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(1)
    held = []

    def take():
        c, _ = lsock.accept()
        held.append((c, socket.recv_fds(c, 65536, 4)[1]))
    t = threading.Thread(target=take)
    t.start()
    d = os.path.join(work, "stuck")
    os.mkdir(d)
    vm = Ignis(ignis_bin, d)
    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state, "resume_vm": True,
                    "mem_backend": uffd(path)})
    t.join()
    check("handler that never serves: load 204 (it took the uffd)", s == 204 and held, f"({s} {f})")
    rc = vm.stop()
    check("and ignis still stops on SIGTERM (vCPU waiting on a fault let go), no seccomp fault",
          rc is not None and rc not in (-signal.SIGKILL, 148), f"({rc}) {open(vm.err_path).read()[-300:]}")
    check("the guest never ran (no page was served)", counters(vm.out.name) == [])
    for c, fds in held:
        c.close()
        for fd in fds:
            os.close(fd)
    lsock.close()


def main():
    ignis_bin, counter, handler_bin = sys.argv[1:4]
    if not os.path.exists("/dev/kvm"):
        print("SKIPPED: needs /dev/kvm")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as work:
        state, mem, last = snapshot_counter(ignis_bin, counter, work, "small")
        handler_refuses(handler_bin, work, mem)
        vm = refusals(ignis_bin, work, state, mem)

        # The same process now loads with the example handler.
        hsock = os.path.join(work, "handler.sock")
        h = Handler(handler_bin, hsock, mem, os.path.join(work, "handler.err"))
        last2 = base.Mark(-1)
        if load_and_count(vm, {"snapshot_path": state, "resume_vm": True, "mem_backend": uffd(hsock)},
                          last, "Uffd 4 KiB after refusals"):
            check("handler received one region of 4 KiB pages",
                  "region 0:" in h.text() and "4096-byte pages" in h.text(), h.text())
            s, cfg = vm.req("GET", "/vm/config")
            check("GET /vm/config: the snapshot's machine config",
                  cfg["machine-config"]["mem_size_mib"] == GUEST_MIB, f"({cfg})")
            # Snapshotting it again reads all of RAM: every page the guest never
            # touched comes from the handler now, on the seccomp-filtered VMM thread.
            vm.req("PATCH", "/vm", {"state": "Paused"})
            state2, mem2 = state + "-again", mem + "-again"
            s, f = vm.fault("PUT", "/snapshot/create", {"snapshot_path": state2, "mem_file_path": mem2})
            check("a Uffd-restored VM can be snapshotted (all pages via the handler)",
                  s == 204 and os.path.getsize(mem2) == GUEST_MIB << 20, f"({s} {f})")
            check("its memory file equals the original where the guest did not write",
                  s == 204 and open(mem2, "rb").read()[-(1 << 20):] == open(mem, "rb").read()[-(1 << 20):])
            time.sleep(0.2)
            last2 = base.mark(vm.out.name)
        rc = vm.stop()
        print(f"ignis exit code after SIGTERM: {rc}")
        check("restored VM stops on SIGTERM without a seccomp fault (exit 148)", rc is not None and rc != 148,
              f"({rc}) {open(vm.err_path).read()[-300:]}")
        check("handler exits 0 when ignis goes", h.wait() == 0 and "closed the connection" in h.text(),
              h.text()[-300:])

        # Transparent huge pages (the load's huge_pages override): THP-advised
        # anonymous RAM, still served 4 KiB at a time.
        d = os.path.join(work, "thp")
        os.mkdir(d)
        vm = Ignis(ignis_bin, d)
        hsock = os.path.join(work, "thp-handler.sock")
        h = Handler(handler_bin, hsock, mem, os.path.join(work, "thp-handler.err"))
        if load_and_count(vm, {"snapshot_path": state, "resume_vm": True, "huge_pages": "Transparent",
                               "mem_backend": uffd(hsock)}, last, "Uffd Transparent"):
            s, cfg = vm.req("GET", "/vm/config")
            check("Uffd Transparent: GET /vm/config says Transparent",
                  cfg["machine-config"]["huge_pages"] == "Transparent", f"({cfg})")
        # A handler that dies: ignis says so (the guest may hang later, as in Firecracker).
        h.proc.kill()
        h.wait()
        check("handler killed: ignis logs that it closed its connection",
              wait_for(lambda: "page-fault handler closed its connection" in open(vm.err_path).read()),
              open(vm.err_path).read()[-400:])
        rc = vm.stop()
        check("and still stops on SIGTERM without a seccomp fault", rc is not None and rc != 148,
              f"({rc}) {open(vm.err_path).read()[-300:]}")

        d = os.path.join(work, "again")
        os.mkdir(d)
        vm = Ignis(ignis_bin, d)
        load_and_count(vm, {"snapshot_path": state + "-again", "resume_vm": True,
                            "mem_backend": {"backend_type": "File", "backend_path": mem + "-again"}},
                       last2, "File load of the snapshot of the Uffd-restored VM")
        vm.stop()

        stuck_handler(ignis_bin, work, state)
        hugepages(ignis_bin, counter, handler_bin, work, state, mem)
    print(f"{base.passed} passed, {base.failed} failed")
    sys.exit(1 if base.failed else 0)


def hugepages(ignis_bin, counter, handler_bin, work, small_state, small_mem):
    need = GUEST_MIB // 2
    try:
        old = int(open(NR_HUGEPAGES).read())
        open(NR_HUGEPAGES, "w").write(str(old - huge_free() + need))
    except OSError as e:
        print(f"SKIPPED (loudly): the 2 MiB hugepage part: cannot reserve hugepages: {e}")
        return
    try:
        got = huge_free()
        if got < need:
            print(f"SKIPPED (loudly): the 2 MiB hugepage part: only {got} of {need} hugepages could be reserved")
            return
        hugepage_loads(ignis_bin, counter, handler_bin, work, small_state, small_mem)
    finally:
        open(NR_HUGEPAGES, "w").write(str(old))


def meminfo(key):
    return int([ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith(key + ":")][0])


def huge_free():
    """Hugepages neither in use nor reserved by a mapping."""
    return meminfo("HugePages_Free") - meminfo("HugePages_Rsvd")


def hugepage_loads(ignis_bin, counter, handler_bin, work, small_state, small_mem):
    need = GUEST_MIB // 2
    state, mem, last = snapshot_counter(ignis_bin, counter, work, "huge", "2M")

    d = os.path.join(work, "huge-file")
    os.mkdir(d)
    vm = Ignis(ignis_bin, d)
    free0 = huge_free()
    if load_and_count(vm, {"snapshot_path": state, "resume_vm": True,
                           "mem_backend": {"backend_type": "File", "backend_path": mem}}, last, "File 2M"):
        check("File 2M: guest RAM is on hugepages", free0 - huge_free() == need, f"({free0} -> {huge_free()})")
        s, cfg = vm.req("GET", "/vm/config")
        check("File 2M: GET /vm/config says 2M", cfg["machine-config"]["huge_pages"] == "2M", f"({cfg})")
    vm.stop()

    d = os.path.join(work, "huge-uffd")
    os.mkdir(d)
    vm = Ignis(ignis_bin, d)
    hsock = os.path.join(work, "huge-handler.sock")
    h = Handler(handler_bin, hsock, mem, os.path.join(work, "huge-handler.err"))
    free0, untouched0 = huge_free(), meminfo("HugePages_Free")
    if load_and_count(vm, {"snapshot_path": state, "resume_vm": True, "mem_backend": uffd(hsock)},
                      last, "Uffd 2M"):
        check("Uffd 2M: handler serves 2 MiB pages", "2097152-byte pages" in h.text(), h.text())
        check("Uffd 2M: guest RAM is on (reserved) hugepages", free0 - huge_free() == need,
              f"({free0} -> {huge_free()})")
        # The counter guest touches a few pages of its 32 MiB: the rest never arrive.
        check("Uffd 2M: pages arrive lazily", 0 < untouched0 - meminfo("HugePages_Free") < need,
              f"({untouched0} -> {meminfo('HugePages_Free')})")
    vm.stop()
    check("Uffd 2M: handler exits 0", h.wait() == 0, h.text()[-300:])

    # Firecracker's huge_pages load parameter: a 4 KiB snapshot onto hugepages.
    d = os.path.join(work, "huge-override")
    os.mkdir(d)
    vm = Ignis(ignis_bin, d)
    free0 = huge_free()
    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": small_state, "huge_pages": "2M",
                    "mem_backend": {"backend_type": "File", "backend_path": small_mem}})
    check("huge_pages \"2M\" on load: 204, RAM on hugepages", s == 204 and free0 - huge_free() == need,
          f"({s} {f} {free0} -> {huge_free()})")
    vm.stop()

    # None left: a File 2M load is refused, pointing at nr_hugepages, and nothing stays reserved.
    old = int(open(NR_HUGEPAGES).read())
    open(NR_HUGEPAGES, "w").write(str(old - huge_free()))
    d = os.path.join(work, "huge-none")
    os.mkdir(d)
    vm = Ignis(ignis_bin, d)
    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state,
                    "mem_backend": {"backend_type": "File", "backend_path": mem}})
    check("File 2M with no hugepages free: 400 pointing at nr_hugepages",
          s == 400 and "not enough are reserved" in f and "nr_hugepages" in f, f"({s} {f})")
    s, info = vm.req("GET", "/")
    check("still Not started", info["state"] == "Not started", f"({info})")
    vm.stop()


if __name__ == "__main__":
    main()
