#!/usr/bin/env python3
"""Snapshots of a microVM with drives and a network interface (format 2).

Run in a private network namespace (ctest wraps it in `unshare --net`): two
TAPs are made there. The counter guest boots with a root drive (partuuid,
Writeback, Async), a read-only data drive (Sync) and eth0 on tap0; it is
paused, snapshotted and SIGKILLed. Then:
  - `ignis --snapshot-version` and `--describe-snapshot` print the format
    version and every device's saved host side; a corrupt file is refused;
  - a load whose data drive file is gone is refused naming the file, and
    the process still loads correctly afterwards;
  - the restored microVM has the drives as configured (GET /vm/config),
    eth0 on the overriding tap1, and the counter continues;
  - without network_overrides a load reopens the saved tap0.
Exits 77 without /dev/kvm.

usage: test_api_snapshot_devices.py IGNIS COUNTER_ELF
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_api_vmm import Ignis  # noqa: E402
from test_api_snapshot import check, counters, mark, wait_for  # noqa: E402
import test_api_snapshot  # noqa: E402

MAC = "06:00:ac:10:00:02"


def make_taps():
    for tap in ("tap0", "tap1"):
        subprocess.run(["ip", "tuntap", "add", tap, "mode", "tap"], check=True)
        subprocess.run(["ip", "link", "set", tap, "up"], check=True)


def boot_and_snapshot(ignis_bin, work, counter, root, data, state, mem):
    vm = Ignis(ignis_bin, work)
    vm.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32})
    vm.req("PUT", "/boot-source", {"kernel_image_path": counter, "boot_args": "console=ttyS0"})
    s1, _ = vm.req("PUT", "/drives/rootfs", {
        "drive_id": "rootfs", "path_on_host": root, "is_root_device": True, "is_read_only": False,
        "partuuid": "0eaa91a0-01", "cache_type": "Writeback", "io_engine": "Async"})
    s2, _ = vm.req("PUT", "/drives/data", {
        "drive_id": "data", "path_on_host": data, "is_root_device": False, "is_read_only": True})
    s3, _ = vm.req("PUT", "/network-interfaces/eth0",
                   {"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": MAC})
    s4, f = vm.fault("PUT", "/actions", {"action_type": "InstanceStart"})
    check("counter guest with two drives and a TAP starts", (s1, s2, s3, s4) == (204,) * 4,
          f"({s1} {s2} {s3} {s4} {f}) {open(vm.err_path).read()[-400:]}")
    check("counter guest counts", wait_for(lambda: len(counters(vm.out.name)) >= 3))
    vm.req("PATCH", "/vm", {"state": "Paused"})
    s, f = vm.fault("PUT", "/snapshot/create", {"snapshot_path": state, "mem_file_path": mem})
    check("create with drives and a TAP: 204", s == 204, f"({s} {f})")
    last = mark(vm.out.name)
    vm.stop(signal.SIGKILL)
    return last


def describe(ignis_bin, root, data, state, work):
    out = subprocess.run([ignis_bin, "--snapshot-version"], capture_output=True, text=True)
    check("--snapshot-version prints 2.0", out.returncode == 0 and out.stdout == "2.0\n",
          f"({out.returncode} {out.stdout!r})")
    out = subprocess.run([ignis_bin, "--describe-snapshot", state], capture_output=True, text=True)
    text = out.stdout
    print(text, end="")
    check("--describe-snapshot exits 0", out.returncode == 0, f"({out.returncode} {out.stderr})")
    for want in ("format version: 2.0", "vcpus: 1", "memory: 32 MiB",
                 "memory file size: 33554432 bytes", "drives: 2", "network interfaces: 1",
                 f"drive rootfs: {root}, 8192 sectors, read-write, root partuuid 0eaa91a0-01, "
                 "cache Writeback, engine Async",
                 f"drive data: {data}, 2048 sectors, read-only, cache Unsafe, engine Sync",
                 f"network interface eth0: tap tap0, mac {MAC}"):
        check(f"describe says '{want}'", want in text.splitlines())
    bad = os.path.join(work, "bad.state")
    blob = bytearray(open(state, "rb").read())
    blob[100] ^= 0x55
    open(bad, "wb").write(blob)
    out = subprocess.run([ignis_bin, "--describe-snapshot", bad], capture_output=True, text=True)
    check("--describe-snapshot of a corrupt file: exit 1, says corrupt, prints nothing",
          out.returncode == 1 and "corrupt" in out.stderr and out.stdout == "",
          f"({out.returncode} {out.stderr!r})")
    out = subprocess.run([ignis_bin, "--describe-snapshot", os.path.join(work, "none")],
                         capture_output=True, text=True)
    check("--describe-snapshot of a missing file: exit 1", out.returncode == 1 and out.stderr,
          f"({out.returncode} {out.stderr!r})")


def main():
    ignis_bin, counter = sys.argv[1:3]
    if not os.path.exists("/dev/kvm"):
        print("SKIPPED: needs /dev/kvm")
        sys.exit(77)
    make_taps()
    with tempfile.TemporaryDirectory() as work:
        dirs = [os.path.join(work, n) for n in ("a", "b", "c", "d")]
        for d in dirs:
            os.mkdir(d)
        root, data = os.path.join(work, "root.img"), os.path.join(work, "data.img")
        with open(root, "wb") as f:
            f.truncate(4 << 20)
        with open(data, "wb") as f:
            f.truncate(1 << 20)
        state, mem = os.path.join(work, "vm.state"), os.path.join(work, "vm.mem")
        last = boot_and_snapshot(ignis_bin, dirs[0], counter, root, data, state, mem)
        describe(ignis_bin, root, data, state, work)

        vm = Ignis(ignis_bin, dirs[1])
        load = {"snapshot_path": state, "resume_vm": True,
                "mem_backend": {"backend_type": "File", "backend_path": mem},
                "network_overrides": [{"iface_id": "eth0", "host_dev_name": "tap1"}]}
        shutil.move(data, data + ".away")
        s, f = vm.fault("PUT", "/snapshot/load", load)
        check("load with the data drive's file gone: 400 naming it", s == 400 and data in f,
              f"({s} {f})")
        s, info = vm.req("GET", "/")
        check("still Not started", info["state"] == "Not started", f"({info})")
        shutil.move(data + ".away", data)
        s, f = vm.fault("PUT", "/snapshot/load", load)
        check("load with drives and a network override: 204", s == 204,
              f"({s} {f}) {open(vm.err_path).read()[-400:]}")
        s, cfg = vm.req("GET", "/vm/config")
        drives = {d["drive_id"]: d for d in cfg.get("drives", [])}
        nets = cfg.get("network-interfaces", [])
        r, d = drives.get("rootfs", {}), drives.get("data", {})
        check("restored root drive as configured",
              r.get("path_on_host") == root and r.get("is_root_device") is True
              and r.get("partuuid") == "0eaa91a0-01" and r.get("cache_type") == "Writeback"
              and r.get("io_engine") == "Async" and r.get("is_read_only") is False, f"({r})")
        check("restored data drive as configured",
              d.get("path_on_host") == data and d.get("is_read_only") is True
              and d.get("is_root_device") is False, f"({d})")
        check("eth0 on the override tap1, MAC kept",
              len(nets) == 1 and nets[0].get("host_dev_name") == "tap1"
              and nets[0].get("guest_mac") == MAC, f"({nets})")
        ok = wait_for(lambda: len(counters(vm.out.name, last.tail)) >= 2)
        after = counters(vm.out.name, last.tail)
        check("counter continues after the restore", ok and after[0] == (last + 1) & 0xffff,
              f"(last {last:04x}, after {[hex(v) for v in after[:4]]})")
        vm.stop()

        vm = Ignis(ignis_bin, dirs[2])
        s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": state, "mem_file_path": mem})
        s2, cfg = vm.req("GET", "/vm/config")
        nets = cfg.get("network-interfaces", [])
        check("load without overrides reopens the saved tap0",
              s == 204 and len(nets) == 1 and nets[0].get("host_dev_name") == "tap0",
              f"({s} {f} {nets})")
        vm.stop()
    p, fl = test_api_snapshot.passed, test_api_snapshot.failed
    print(f"{p} passed, {fl} failed")
    sys.exit(1 if fl else 0)


if __name__ == "__main__":
    main()
