#!/usr/bin/env python3
"""Soak: what repetition does to ignis's file descriptors and memory.

1. fresh: N fresh processes boot the hello guest to its i8042 reset
   (`--no-api --config-file`); every one must exit 0.
2. one process: the counter guest runs while N cycles of pause, Full
   snapshot create (same two paths each time) and resume go through the
   API; ignis's open fds and VmRSS are sampled every 10 cycles.
3. API: 10 000 connections, one `GET /` each, then closed; fds and VmRSS
   before and after.
4. connection cap: as many idle connections as ignis keeps (256), one more
   must not be served, and once the idle ones close the API answers again.

Prints every sample and the medians. Fails (exit 1) only on a correctness
fault: a cycle that did not succeed, fds that grew, a cap that did not
hold; never on a time or on RSS (RSS is reported: flat means within a few
hundred KiB of the first sample). Needs /dev/kvm (PVM is fine).

usage: soak.py BUILD_DIR [N]
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
from test_api_vmm import Ignis  # noqa: E402

build = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
ignis = os.path.join(build, "ignis")
hello = os.path.join(build, "tests", "guest", "hello.elf")
counter = os.path.join(build, "tests", "guest", "counter.elf")
faults = []


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def fresh(work):
    cfg = os.path.join(work, "hello.json")
    json.dump({"boot-source": {"kernel_image_path": hello, "boot_args": "console=ttyS0"},
               "machine-config": {"vcpu_count": 1, "mem_size_mib": 32}}, open(cfg, "w"))
    times, bad = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        rc = subprocess.run([ignis, "--no-api", "--config-file", cfg], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60).returncode
        times.append((time.perf_counter() - t0) * 1000)
        bad += rc != 0
    print(f"fresh: {n} boot->exit cycles, {bad} not exit 0, median {statistics.median(times):.1f} ms, "
          f"max {max(times):.1f} ms")
    if bad:
        faults.append(f"{bad} fresh boots did not exit 0")


def one_process(work):
    d = os.path.join(work, "one")
    os.mkdir(d)
    vm = Ignis(ignis, d)
    vm.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64})
    vm.req("PUT", "/boot-source", {"kernel_image_path": counter, "boot_args": "console=ttyS0"})
    vm.req("PUT", "/actions", {"action_type": "InstanceStart"})
    pid = vm.proc.pid
    samples, bad = [], 0
    snap = {"snapshot_path": os.path.join(work, "s.state"), "mem_file_path": os.path.join(work, "s.mem")}
    for i in range(n + 1):
        if i % 10 == 0:
            samples.append((i, fds(pid), rss_kib(pid)))
            print(f"  cycle {i:4d}: {samples[-1][1]} fds, VmRSS {samples[-1][2]} KiB")
        if i == n:
            break
        ok = vm.req("PATCH", "/vm", {"state": "Paused"})[0] == 204
        ok &= vm.req("PUT", "/snapshot/create", snap)[0] == 204
        ok &= vm.req("PATCH", "/vm", {"state": "Resumed"})[0] == 204
        bad += not ok
    vm.stop()
    grow_fd = samples[-1][1] - samples[1][1]
    grow_rss = samples[-1][2] - samples[1][2]
    print(f"one process: {n} pause/create/resume cycles, {bad} failed; fds {samples[1][1]} -> "
          f"{samples[-1][1]}, VmRSS {samples[1][2]} -> {samples[-1][2]} KiB ({grow_rss:+d} KiB) "
          "from cycle 10 on")
    if bad:
        faults.append(f"{bad} pause/create/resume cycles failed")
    if grow_fd > 0:
        faults.append(f"fds grew by {grow_fd} over {n} snapshot cycles")


def api(work):
    d = os.path.join(work, "api")
    os.mkdir(d)
    vm = Ignis(ignis, d)
    pid = vm.proc.pid
    vm.req("GET", "/")
    f0, r0 = fds(pid), rss_kib(pid)
    t0 = time.perf_counter()
    bad = 0
    for _ in range(10000):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(vm.sock)
        c.sendall(b"GET / HTTP/1.1\r\n\r\n")
        bad += not c.recv(4096).startswith(b"HTTP/1.1 200")
        c.close()
    took = time.perf_counter() - t0
    time.sleep(0.2)
    f1, r1 = fds(pid), rss_kib(pid)
    print(f"API: 10000 connections in {took:.2f} s ({10000 / took:.0f}/s), {bad} not 200; "
          f"fds {f0} -> {f1}, VmRSS {r0} -> {r1} KiB ({r1 - r0:+d} KiB)")
    if bad:
        faults.append(f"{bad} of 10000 API connections not answered 200")
    if f1 > f0:
        faults.append(f"fds grew by {f1 - f0} over 10000 API connections")
    cap(vm)
    vm.stop()


def cap(vm):
    idle = []
    for _ in range(256):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(vm.sock)
        idle.append(c)
    time.sleep(0.3)
    extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    extra.settimeout(2)
    served = False
    try:
        extra.connect(vm.sock)
        extra.sendall(b"GET / HTTP/1.1\r\n\r\n")
        served = extra.recv(4096).startswith(b"HTTP/1.1 200")
    except OSError:
        pass
    extra.close()
    for c in idle:
        c.close()
    time.sleep(0.3)
    back = vm.req("GET", "/")[0] == 200
    print(f"cap: 256 idle connections held; the 257th {'was served' if served else 'was not served'}; "
          f"after they closed GET / {'answers' if back else 'FAILS'}")
    if served or not back:
        faults.append("the connection cap did not hold, or the API did not come back")


def main():
    if not os.path.exists("/dev/kvm"):
        print("soak.py needs /dev/kvm")
        sys.exit(2)
    with tempfile.TemporaryDirectory() as work:
        fresh(work)
        one_process(work)
        api(work)
    for f in faults:
        print(f"FAULT: {f}")
    sys.exit(1 if faults else 0)


if __name__ == "__main__":
    main()
