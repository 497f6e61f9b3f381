#!/usr/bin/env python3
"""The API's semantics against the real ignis binary on a real socket.

Drives ignis only through HTTP on its Unix socket, as an orchestrator
would: pre-boot configuration, GET shapes, Firecracker's pre/post-boot
rules with their exact fault messages, InstanceStart validation that
reports every problem at once, pause/resume that really stops the vCPUs
(the ticker guest's output stops), metrics and logger files, and a clean
exit on SIGTERM with the socket removed. Needs /dev/kvm (PVM is fine) for
the parts that start a guest; exits 77 (skipped) without one.

usage: test_api_vmm.py IGNIS HELLO_ELF TICKER_ELF
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

PRE = "The requested operation is not supported before starting the microVM."
POST = "The requested operation is not supported after starting the microVM."
LOAD_AFTER = "Loading a microVM snapshot not allowed after configuring boot-specific resources."

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"PASS: {name}")
    else:
        failed += 1
        print(f"FAIL: {name} {detail}")


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        # The socket file exists from bind(); connect() is refused until
        # listen(): under the nested bed's TCG that gap is not negligible.
        end = time.time() + 10
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(10)
            try:
                self.sock.connect(self.path)
                return
            except (ConnectionRefusedError, FileNotFoundError):
                self.sock.close()
                if time.time() > end:
                    raise
                time.sleep(0.02)


class Ignis:
    def __init__(self, binary, workdir, *args):
        self.sock = os.path.join(workdir, "api.sock")
        self.out = open(os.path.join(workdir, "console.out"), "wb")
        self.err_path = os.path.join(workdir, "ignis.err")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([binary, "--api-sock", self.sock, *args],
                                     stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err)
        # Ten seconds: a dynamically linked ignis under TCG (the nested bed)
        # takes well over the fraction of a second it takes natively.
        for _ in range(1000):
            if os.path.exists(self.sock) or self.proc.poll() is not None:
                break
            time.sleep(0.01)
        self.conn = UnixHTTPConnection(self.sock)

    def req(self, method, path, body=None):
        data = None if body is None else json.dumps(body)
        self.conn.request(method, path, body=data,
                          headers={"Content-Type": "application/json"} if data else {})
        r = self.conn.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw else None)

    def fault(self, method, path, body=None):
        status, resp = self.req(method, path, body)
        return status, (resp or {}).get("fault_message", "")

    def console_len(self):
        self.out.flush()
        return os.path.getsize(self.out.name)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def pre_boot(ignis_bin, work, hello):
    vm = Ignis(ignis_bin, work)
    s, info = vm.req("GET", "/")
    check("GET / answers 200 with InstanceInfo",
          s == 200 and info["state"] == "Not started" and set(info) == {"app_name", "id", "state", "vmm_version"},
          f"({s} {info})")
    s, v = vm.req("GET", "/version")
    check("GET /version names the Firecracker API version", s == 200 and "firecracker_version" in v, f"({s} {v})")
    s, mc = vm.req("GET", "/machine-config")
    check("GET /machine-config has Firecracker's defaults",
          s == 200 and mc["vcpu_count"] == 1 and mc["mem_size_mib"] == 128 and mc["huge_pages"] == "None", f"({mc})")

    s, _ = vm.req("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64})
    check("PUT /machine-config answers 204", s == 204, f"({s})")
    s, _ = vm.req("PATCH", "/machine-config", {"vcpu_count": 4})
    s2, mc = vm.req("GET", "/machine-config")
    check("PATCH /machine-config changes only what it names",
          s == 204 and mc["vcpu_count"] == 4 and mc["mem_size_mib"] == 64, f"({s} {mc})")
    s, _ = vm.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32, "smt": False})
    s2, mc = vm.req("GET", "/machine-config")
    check("PUT /machine-config replaces the whole object", s == 204 and mc["vcpu_count"] == 1 and mc["mem_size_mib"] == 32)
    s, f = vm.fault("PUT", "/machine-config", {"vcpu_count": 1})
    check("PUT /machine-config without mem_size_mib is refused", s == 400 and "mem_size_mib" in f and
          f.startswith("An error occurred when deserializing the json body of a request: "), f"({s} {f})")
    s, f = vm.fault("PUT", "/machine-config", {"vcpu_count": 99, "mem_size_mib": 32})
    check("vcpu_count out of range is refused naming the field", s == 400 and "vcpu_count" in f, f"({f})")
    s, f = vm.fault("PATCH", "/machine-config", {"bogus": 1})
    check("unknown fields are refused", s == 400 and "unknown field `bogus`" in f, f"({f})")

    s, f = vm.fault("PUT", "/boot-source", {"boot_args": "x"})
    check("PUT /boot-source without kernel_image_path is refused", s == 400 and "kernel_image_path" in f, f"({f})")
    s, f = vm.fault("PUT", "/drives/rootfs", {"drive_id": "other", "path_on_host": "/x", "is_root_device": True})
    check("id in path != id in body is refused with Firecracker's message",
          s == 400 and f == "The id from the path does not match the id from the body!", f"({f})")

    for method, path, body in (("PATCH", "/vm", {"state": "Paused"}),
                               ("PUT", "/actions", {"action_type": "FlushMetrics"}),
                               ("PUT", "/actions", {"action_type": "SendCtrlAltDel"}),
                               ("PUT", "/snapshot/create", {"snapshot_path": "s", "mem_file_path": "m"}),
                               ("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": "/x"})):
        s, f = vm.fault(method, path, body)
        check(f"{method} {path} before start: 400 '{PRE}'", s == 400 and f == PRE, f"({s} {f})")

    # InstanceStart reports every problem at once and leaves nothing behind.
    s, _ = vm.req("PUT", "/boot-source", {"kernel_image_path": os.path.join(work, "no-kernel")})
    s, _ = vm.req("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": os.path.join(work, "no-disk"),
                                            "is_root_device": True, "is_read_only": False})
    s, f = vm.fault("PUT", "/actions", {"action_type": "InstanceStart"})
    check("InstanceStart lists every problem (kernel and drive) at once",
          s == 400 and "no-kernel" in f and "no-disk" in f, f"({s} {f})")
    s, info = vm.req("GET", "/")
    check("a failed InstanceStart leaves the VM not started", info["state"] == "Not started")

    s, f = vm.fault("PUT", "/snapshot/load", {"snapshot_path": "s", "mem_backend": {"backend_type": "File", "backend_path": "m"}})
    check("snapshot/load after configuring resources: Firecracker's message", s == 400 and f == LOAD_AFTER, f"({f})")
    s, f = vm.fault("PUT", "/balloon", {"amount_mib": 1, "deflate_on_oom": True})
    check("unsupported devices answer 400 (not 404) saying so", s == 400 and "not supported" in f, f"({s} {f})")

    s, cfg = vm.req("GET", "/vm/config")
    check("GET /vm/config reflects what was configured",
          s == 200 and cfg["machine-config"]["mem_size_mib"] == 32 and cfg["drives"][0]["drive_id"] == "rootfs"
          and cfg["boot-source"]["kernel_image_path"].endswith("no-kernel"), f"({cfg})")
    rc = vm.stop()
    check("SIGTERM before start exits cleanly (128+15) and removes the socket",
          rc == 143 and not os.path.exists(vm.sock), f"(rc {rc})")
    return cfg


def running(ignis_bin, work, hello, ticker):
    metrics = os.path.join(work, "metrics.json")
    log = os.path.join(work, "ignis.log")
    vm = Ignis(ignis_bin, work, "--metrics-path", metrics, "--boot-timer")
    s, _ = vm.req("PUT", "/logger", {"log_path": log, "level": "Info", "show_level": True})
    check("PUT /logger answers 204", s == 204, f"({s})")
    s, _ = vm.req("PUT", "/boot-source", {"kernel_image_path": ticker, "boot_args": "console=ttyS0"})
    s, _ = vm.req("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 32})
    s, f = vm.fault("PUT", "/actions", {"action_type": "InstanceStart"})
    check("InstanceStart answers 204", s == 204, f"({s} {f})")
    s, info = vm.req("GET", "/")
    check("state is Running after InstanceStart", info["state"] == "Running", f"({info})")
    time.sleep(0.5)
    a = vm.console_len()
    check("the guest runs (console output grows)", a > 3, f"({a} bytes)")

    for method, path, body in (("PUT", "/actions", {"action_type": "InstanceStart"}),
                               ("PUT", "/boot-source", {"kernel_image_path": hello}),
                               ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 32}),
                               ("PUT", "/logger", {"level": "Debug"}),
                               ("PUT", "/drives/late", {"drive_id": "late", "path_on_host": hello, "is_root_device": False})):
        s, f = vm.fault(method, path, body)
        check(f"{method} {path} after start: 400 '{POST}'", s == 400 and f == POST, f"({s} {f})")

    s, _ = vm.req("PATCH", "/vm", {"state": "Paused"})
    s2, info = vm.req("GET", "/")
    check("PATCH /vm Paused answers 204 and state is Paused", s == 204 and info["state"] == "Paused", f"({s} {info})")
    time.sleep(0.1)
    a = vm.console_len()
    time.sleep(0.7)
    b = vm.console_len()
    check("paused vCPUs do not run (console output stops)", a == b, f"({a} -> {b})")
    s, _ = vm.req("PATCH", "/vm", {"state": "Paused"})
    check("pausing twice is idempotent", s == 204)
    s, _ = vm.req("PATCH", "/vm", {"state": "Resumed"})
    time.sleep(0.7)
    c = vm.console_len()
    check("resumed vCPUs run again", s == 204 and c > b, f"({b} -> {c})")
    s, f = vm.fault("PATCH", "/vm", {"state": "Sleeping"})
    check("a bad state is refused", s == 400 and "state" in f, f"({f})")

    s, _ = vm.req("PUT", "/actions", {"action_type": "FlushMetrics"})
    lines = open(metrics).read().splitlines() if os.path.exists(metrics) else []
    last = json.loads(lines[-1]) if lines else {}
    check("FlushMetrics appends a JSON line with API, vCPU and UART counters",
          s == 204 and len(lines) >= 2 and last.get("api_requests", {}).get("requests", 0) >= 5
          and last.get("vcpu", {}).get("exit_io_out", 0) > 0 and last.get("uart", {}).get("write_bytes", 0) > 0
          and last.get("block") == {} and last.get("net") == {},
          f"({s} {len(lines)} lines, last {last})")
    s, _ = vm.req("PUT", "/actions", {"action_type": "SendCtrlAltDel"})
    check("SendCtrlAltDel answers 204 after start", s == 204, f"({s})")
    logtext = open(log).read() if os.path.exists(log) else ""
    check("the logger writes to log_path with levels", "[Info]" in logtext and "paused" in logtext, f"({logtext[:200]})")

    rc = vm.stop()
    check("SIGTERM stops a running microVM cleanly (143), socket removed",
          rc == 143 and not os.path.exists(vm.sock), f"(rc {rc})")

    # A guest reset ends the process even with the API, as Firecracker.
    vm = Ignis(ignis_bin, work)
    vm.req("PUT", "/boot-source", {"kernel_image_path": hello})
    s, _ = vm.req("PUT", "/actions", {"action_type": "InstanceStart"})
    rc = vm.proc.wait(timeout=20)
    vm.out.flush()
    check("the guest's i8042 reset ends ignis with 0 under the API too",
          s == 204 and rc == 0 and b"Hello from the ignis test guest" in open(vm.out.name, "rb").read(), f"(rc {rc})")


def config_file_with_api(ignis_bin, work, hello, cfg_from_get):
    # GET /vm/config output is itself a valid config file (round trip).
    cfg_from_get["boot-source"]["kernel_image_path"] = hello
    cfg_from_get["drives"] = []
    path = os.path.join(work, "roundtrip.json")
    with open(path, "w") as f:
        json.dump(cfg_from_get, f)
    vm = Ignis(ignis_bin, work, "--config-file", path)
    rc = vm.proc.wait(timeout=20)
    check("--config-file with the API configures and starts (GET /vm/config output round-trips)",
          rc == 0 and b"Hello from the ignis test guest" in open(vm.out.name, "rb").read(),
          f"(rc {rc}: {open(vm.err_path).read()[-300:]})")


def main():
    ignis_bin, hello, ticker = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as work:
        cfg = pre_boot(ignis_bin, work, hello)
        if not os.path.exists("/dev/kvm"):
            print("SKIPPED: the guest-running half needs /dev/kvm (none on this machine)")
            print(f"{passed} passed, {failed} failed")
            sys.exit(1 if failed else 77)
        running(ignis_bin, work, hello, ticker)
        config_file_with_api(ignis_bin, work, hello, cfg)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
