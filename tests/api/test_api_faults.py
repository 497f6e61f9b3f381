#!/usr/bin/env python3
"""Host-side faults against the real ignis (issue 14), with the counter guest.

- Snapshot create onto a full file system (a tmpfs filled to the last
  page), once with the memory file there and once with the state file
  there: a 400 that names the error, nothing under either final name and
  no temporary file left, the VM still Paused and resumable (the counter
  goes on), and a create elsewhere then succeeds.
- SIGTERM while a snapshot create of a 1 GiB guest is under way: ignis
  exits 143 within 20 s, and the snapshot is either whole (both files under
  their final names, and it loads) or absent; no temporary file either way.
- API clients that misbehave: one that disconnects in the middle of a
  request body (the half request changes nothing), one that sends its
  request a byte at a time, 0.3 s apart (other clients are answered
  meanwhile, and it gets its answer), one that sends half a request and
  then nothing (others are still answered).

Needs root (it mounts a tmpfs in a private mount namespace: run it under
`unshare --mount`). Exits 77 without /dev/kvm.

usage: test_api_faults.py IGNIS COUNTER_ELF
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_api_vmm import Ignis  # noqa: E402
import test_api_snapshot as base  # noqa: E402

check, counters, wait_for = base.check, base.counters, base.wait_for


def boot_counter(ignis_bin, counter, workdir, mem_mib=32):
    vm = Ignis(ignis_bin, workdir)
    vm.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": mem_mib})
    vm.req("PUT", "/boot-source", {"kernel_image_path": counter, "boot_args": "console=ttyS0"})
    s, _ = vm.req("PUT", "/actions", {"action_type": "InstanceStart"})
    check(f"counter guest ({mem_mib} MiB) starts", s == 204, f"({s})")
    wait_for(lambda: len(counters(vm.out.name)) >= 3)
    return vm


def fill(mnt):
    """Fills the file system at @mnt to its last block."""
    fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while os.write(fd, b"\xa5" * 4096) > 0:
            pass
    except OSError:
        pass
    os.close(fd)


def full_fs(ignis_bin, counter, work):
    mnt = os.path.join(work, "full")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt]).returncode:
        check("mount a 256 KiB tmpfs (needs root)", False)
        return
    fill(mnt)
    good = os.path.join(work, "good")
    os.mkdir(good)
    d = os.path.join(work, "full-vm")
    os.mkdir(d)
    vm = boot_counter(ignis_bin, counter, d)
    vm.req("PATCH", "/vm", {"state": "Paused"})
    cases = (("memory file", os.path.join(good, "a.state"), os.path.join(mnt, "a.mem")),
             ("state file", os.path.join(mnt, "b.state"), os.path.join(good, "b.mem")))
    for what, state, mem in cases:
        s, f = vm.fault("PUT", "/snapshot/create", {"snapshot_path": state, "mem_file_path": mem})
        check(f"create, {what} on a full file system: 400 naming ENOSPC",
              s == 400 and "No space left on device" in f, f"({s} {f})")
        left = sorted(os.listdir(mnt)) + sorted(os.listdir(good))
        check(f"... nothing left under either name, no temporary file ({what})",
              left == ["filler"], f"({left})")
    s, info = vm.req("GET", "/")
    check("... the VM is still Paused", info.get("state") == "Paused", f"({info})")
    before = len(counters(vm.out.name))
    s, _ = vm.req("PATCH", "/vm", {"state": "Resumed"})
    check("... and resumes: the counter goes on",
          s == 204 and wait_for(lambda: len(counters(vm.out.name)) > before + 2), f"({s})")
    vm.req("PATCH", "/vm", {"state": "Paused"})
    s, f = vm.fault("PUT", "/snapshot/create", {"snapshot_path": os.path.join(good, "c.state"),
                                                "mem_file_path": os.path.join(good, "c.mem")})
    check("... and a create on a file system with room then succeeds", s == 204, f"({s} {f})")
    rc = vm.stop()
    check("... and ignis exits 143 on SIGTERM", rc == 143, f"({rc})")
    subprocess.run(["umount", "-l", mnt])


def sigterm_during_create(ignis_bin, counter, work):
    d = os.path.join(work, "term-vm")
    os.mkdir(d)
    snap = os.path.join(work, "term")
    os.mkdir(snap)
    state, mem = os.path.join(snap, "vm.state"), os.path.join(snap, "vm.mem")
    vm = boot_counter(ignis_bin, counter, d, mem_mib=1024)
    vm.req("PATCH", "/vm", {"state": "Paused"})
    # The request goes out on its own connection; SIGTERM follows at once.
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(vm.sock)
    body = f'{{"snapshot_path": "{state}", "mem_file_path": "{mem}"}}'.encode()
    c.sendall(b"PUT /snapshot/create HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    time.sleep(0.05)
    t0 = time.time()
    vm.proc.send_signal(signal.SIGTERM)
    try:
        rc = vm.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        vm.proc.kill()
        rc = vm.proc.wait()
    took = time.time() - t0
    c.close()
    check("SIGTERM during snapshot create: exit 143 within 20 s", rc == 143,
          f"(rc {rc} after {took:.1f}s: {open(vm.err_path).read()[-300:]})")
    names = sorted(os.listdir(snap))
    check("... the snapshot is whole or absent, no temporary file",
          names in ([], ["vm.mem", "vm.state"]), f"({names})")
    if names:
        d2 = os.path.join(work, "term-load")
        os.mkdir(d2)
        vm2 = Ignis(ignis_bin, d2)
        s, f = vm2.fault("PUT", "/snapshot/load", {"snapshot_path": state, "resume_vm": True,
                         "mem_backend": {"backend_type": "File", "backend_path": mem}})
        check("... the snapshot it finished loads and runs", s == 204, f"({s} {f})")
        vm2.stop()
    print(f"SIGTERM during create: exit after {took:.2f}s, snapshot {'whole' if names else 'absent'}")


def raw(sock_path):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(10)
    c.connect(sock_path)
    return c


def answer(c):
    """The status of the one answer on @c (reads until the body is whole)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n", 1)[0].split()
    return int(head[1]) if len(head) > 1 else 0


def bad_clients(ignis_bin, work):
    d = os.path.join(work, "api-vm")
    os.mkdir(d)
    vm = Ignis(ignis_bin, d)
    vm.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
    # 1. Half a body, then gone.
    c = raw(vm.sock)
    body = b'{"vcpu_count": 2, "mem_size_mib": 128}'
    c.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body[:12])
    c.close()
    s, mc = vm.req("GET", "/machine-config")
    check("a client gone in mid-body: its half request changes nothing",
          s == 200 and mc["vcpu_count"] == 1 and mc["mem_size_mib"] == 64, f"({s} {mc})")
    # 2. One byte at a time; the others are answered meanwhile.
    slow = raw(vm.sock)
    req = b"GET /machine-config HTTP/1.1\r\n\r\n"
    served, worst = 0, 0.0
    for b in req:
        slow.sendall(bytes([b]))
        t0 = time.time()
        served += vm.req("GET", "/")[0] == 200
        worst = max(worst, time.time() - t0)
        time.sleep(0.3)
    check("a client sending a byte at a time: the others are answered meanwhile",
          served == len(req), f"({served}/{len(req)}, slowest {worst:.3f}s)")
    check("... and it gets its answer", answer(slow) == 200)
    slow.close()
    # 3. Half a request, then silence: the API still answers.
    stuck = raw(vm.sock)
    stuck.sendall(b"PUT /machine-config HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
    check("a client silent in mid-request: the API still answers", vm.req("GET", "/")[0] == 200)
    stuck.close()
    rc = vm.stop()
    check("... and ignis exits 143 on SIGTERM", rc == 143, f"({rc})")
    print(f"slowest answer beside the slow client: {worst * 1000:.1f} ms")


def main():
    ignis_bin, counter = sys.argv[1:3]
    if not os.path.exists("/dev/kvm"):
        print("SKIPPED: needs /dev/kvm")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as work:
        full_fs(ignis_bin, counter, work)
        sigterm_during_create(ignis_bin, counter, work)
        bad_clients(ignis_bin, work)
    print(f"{base.passed} passed, {base.failed} failed")
    sys.exit(1 if base.failed else 0)


if __name__ == "__main__":
    main()
