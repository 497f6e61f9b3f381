#!/usr/bin/env python3
"""Benchmark: time from exec of ignis to its API socket accepting, and
request latency against the real ignis (not a fake VMM).

Startup: spawns `ignis --api-sock` N times and polls connect() until it
succeeds; reports wall time (exec -> first accepted connection) and the
time ignis itself reports for the same span in its "API server listening
... (startup N us, M CPU us)" log line, min/median/max. Latency: runs the
ignis-api-latency tool (built next to ignis) for 10 000 GET / and 10 000
PUT /machine-config on one keep-alive connection. Measures; never asserts
on time. usage: api-startup.py BUILD_DIR [RUNS]
"""
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

build = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
ignis = os.path.join(build, "ignis")
walls, own_walls, cpus = [], [], []
with tempfile.TemporaryDirectory() as work:
    sock_path = os.path.join(work, "api.sock")
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen([ignis, "--api-sock", sock_path], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(sock_path)
                break
            except OSError:
                time.sleep(0.0002)
            finally:
                s.close()
        walls.append((time.perf_counter() - t0) * 1000)
        p.terminate()
        _, err = p.communicate()
        m = re.search(r"startup (\d+) us, (\d+) CPU us", err)
        if m:
            own_walls.append(int(m.group(1)) / 1000)
            cpus.append(int(m.group(2)) / 1000)

print(f"startup to API socket accepting, {runs} runs:")
print(f"  wall ms: min {min(walls):.2f}  median {statistics.median(walls):.2f}  max {max(walls):.2f}")
if cpus:
    print(f"  ignis's own count, main() to listening: wall ms median {statistics.median(own_walls):.2f}, "
          f"CPU ms median {statistics.median(cpus):.2f}  max {max(cpus):.2f}")

lat = os.path.join(build, "ignis-api-latency")
if os.path.exists(lat):
    with tempfile.TemporaryDirectory() as work:
        sock_path = os.path.join(work, "api.sock")
        p = subprocess.Popen([ignis, "--api-sock", sock_path, "--level", "Warning"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        while not os.path.exists(sock_path):
            time.sleep(0.001)
        subprocess.run([lat, "--api-sock", sock_path, "--requests", "10000", "GET", "/"], check=False)
        subprocess.run([lat, "--api-sock", sock_path, "--requests", "10000", "PUT", "/machine-config",
                        '{"vcpu_count": 2, "mem_size_mib": 256}'], check=False)
        p.terminate()
        p.wait()
else:
    print(f"(no {lat}: build the ignis-api-latency target for the latency half)")
