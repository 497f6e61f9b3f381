#!/usr/bin/env python3
"""Benchmark: time from exec to the API socket accepting, for ignis alone
and for ignis-jailer + ignis (copy into the jail, pivot_root, device nodes,
uid drop, capabilities cleared, seccomp), N runs each, alternating.
The jail gets ignis's libraries copied in first (ignis is dynamically
linked), as an operator would. Root only. Measures; never asserts on time.
usage: jail-startup.py BUILD_DIR [RUNS]
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

build = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
ignis = os.path.join(build, "ignis")
jailer = os.path.join(build, "ignis-jailer")
libs = [l.split()[2] if "=>" in l else l.split()[0]
        for l in subprocess.run(["ldd", ignis], capture_output=True, text=True).stdout.splitlines()
        if "/" in l]


def wait_accepting(path, t0):
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return (time.perf_counter() - t0) * 1000
        except OSError:
            time.sleep(0.0002)
        finally:
            s.close()


plain, jailed = [], []
with tempfile.TemporaryDirectory(dir="/var/tmp") as base:
    for i in range(runs):
        sock = os.path.join(base, f"plain-{i}.sock")
        t0 = time.perf_counter()
        p = subprocess.Popen([ignis, "--api-sock", sock], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        plain.append(wait_accepting(sock, t0))
        p.terminate()
        p.wait()

        jid = f"bench{i}"
        root = os.path.join(base, "ignis", jid, "root")
        for lib in libs:
            os.makedirs(root + os.path.dirname(lib), exist_ok=True)
            shutil.copy(lib, root + lib)
        t0 = time.perf_counter()
        p = subprocess.Popen([jailer, "--id", jid, "--exec-file", ignis, "--uid", "65534", "--gid", "65534",
                              "--chroot-base-dir", base, "--", "--api-sock", "/run/ignis.socket"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        jailed.append(wait_accepting(os.path.join(root, "run", "ignis.socket"), t0))
        p.terminate()
        p.wait()


def line(name, xs):
    print(f"  {name:28s} min {min(xs):6.2f}  median {statistics.median(xs):6.2f}  max {max(xs):6.2f} ms")


print(f"exec -> API socket accepting, {runs} runs each:")
line("ignis", plain)
line("ignis-jailer + ignis", jailed)
