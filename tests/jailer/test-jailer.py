#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ignis-jailer on this machine, with real processes (needs root).

Jails tests/jailer/probe.c (static) as nobody:nogroup (65534) under a
temporary --chroot-base-dir and checks, from the inside (the probe's
/probe.out) and from the outside (/proc/<pid>, the jail and cgroup
directories on the host), that the jail is what docs/jailer.md promises;
then that bad command lines and an existing jail fail clearly, and that a
failed run leaves nothing a rerun trips over.

usage: test-jailer.py IGNIS_JAILER JAILER_PROBE
Exit 0 = all passed, 1 = a check failed, 77 = skipped (not root).
"""
import os
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import time

NOBODY = 65534
EXEC_NAME = "jailer-probe"
V1_ROOT = "/sys/fs/cgroup"

failures = []


def check(cond, what):
    if cond:
        print(f"  ok   {what}")
    else:
        print(f"  FAIL {what}")
        failures.append(what)
    return cond


def read(path):
    with open(path) as f:
        return f.read()


def facts_of(path):
    facts = {}
    for line in read(path).splitlines():
        key, _, value = line.partition("=")
        facts[key] = value
    return facts


def proc_status(pid):
    status = {}
    for line in read(f"/proc/{pid}/status").splitlines():
        key, _, value = line.partition(":")
        status[key] = value.strip()
    return status


def cgroup_mounts():
    """v1 controller -> mount point, and the cgroup2 mount (or None)."""
    v1, v2 = {}, None
    for line in read("/proc/mounts").splitlines():
        dev, path, fstype, opts = line.split()[:4]
        if fstype == "cgroup2" and v2 is None:
            v2 = path
        elif fstype == "cgroup":
            for opt in opts.split(","):
                v1.setdefault(opt, path)
    return v1, v2


def misc_minor(name):
    for line in read("/proc/misc").splitlines():
        minor, dev = line.split()
        if dev == name:
            return int(minor)
    return None


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.01)
    return pred()


def alive(pid):
    try:
        return read(f"/proc/{pid}/stat").split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Env:
    def __init__(self, jailer, probe):
        self.jailer = jailer
        self.probe = probe
        self.base = tempfile.mkdtemp(prefix="ignis-jailer-test-")
        self.tag = f"t{os.getpid()}"
        self.parent_cgroup = f"ignis-jailer-test-{os.getpid()}"
        self.v1, self.v2 = cgroup_mounts()
        self.v2_root_subtree = None
        self.pids = []
        self.procs = []
        self.netns = None

    def jail_dir(self, jail_id):
        return os.path.join(self.base, EXEC_NAME, jail_id, "root")

    def run(self, jail_id, flags=(), probe_args=(), hold=True, env=None, pass_fds=()):
        """Starts the jailer; returns (Popen, stdout file, stderr file)."""
        cmd = [self.jailer, "--id", jail_id, "--exec-file", self.probe,
               "--uid", str(NOBODY), "--gid", str(NOBODY),
               "--chroot-base-dir", self.base, *flags, "--"]
        if hold:
            cmd.append("--hold")
        cmd.extend(probe_args)
        out = tempfile.TemporaryFile()
        err = tempfile.TemporaryFile()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, pass_fds=pass_fds)
        self.procs.append(proc)
        return proc, out, err

    def started(self, jail_id, timeout=10.0):
        """Waits for the probe's report; returns (pid as the host sees it, facts)."""
        root = self.jail_dir(jail_id)
        pid_file = os.path.join(root, f"{EXEC_NAME}.pid")
        if not wait_for(lambda: os.path.exists(os.path.join(root, "probe.out")), timeout):
            return None, {}
        pid = int(read(pid_file))
        self.pids.append(pid)
        return pid, facts_of(os.path.join(root, "probe.out"))

    def release(self, jail_id, pid):
        open(os.path.join(self.jail_dir(jail_id), "release"), "w").close()
        wait_for(lambda: not alive(pid), 10)

    def cleanup(self):
        # Whatever still runs: jailers, and probes by their pid files.
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        jails = os.path.join(self.base, EXEC_NAME)
        for jail_id in os.listdir(jails) if os.path.isdir(jails) else []:
            try:
                self.pids.append(int(read(os.path.join(self.jail_dir(jail_id), f"{EXEC_NAME}.pid"))))
            except (OSError, ValueError):
                pass
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in self.pids:
            wait_for(lambda: not alive(pid), 5)
        roots = [os.path.join(m, self.parent_cgroup) for m in set(self.v1.values())]
        if self.v2:
            roots.append(os.path.join(self.v2, self.parent_cgroup))
        for root in roots:
            if os.path.isdir(root):
                for leaf in os.listdir(root):
                    if os.path.isdir(os.path.join(root, leaf)):
                        try:
                            os.rmdir(os.path.join(root, leaf))
                        except OSError as e:
                            print(f"cleanup: {root}/{leaf}: {e}")
                try:
                    os.rmdir(root)
                except OSError as e:
                    print(f"cleanup: {root}: {e}")
        if self.v2 and self.v2_root_subtree is not None:
            now = read(os.path.join(self.v2, "cgroup.subtree_control")).split()
            for ctrl in set(now) - set(self.v2_root_subtree):
                try:
                    with open(os.path.join(self.v2, "cgroup.subtree_control"), "w") as f:
                        f.write(f"-{ctrl}")
                except OSError as e:
                    print(f"cleanup: disable {ctrl} in {self.v2}: {e}")
        if self.netns:
            subprocess.run(["ip", "netns", "delete", self.netns], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def check_common_inside(facts, jail_id, extra_args):
    """What every jailed probe must report about itself."""
    check(facts.get("end") == "1", "probe wrote its whole report")
    check(facts.get("argv0") == f"/{EXEC_NAME}", "exec'd as /<exec-name>")
    args = [facts.get(f"arg{i}") for i in range(1, int(facts.get("argc", "1")))]
    check(args[:2] == ["--id", jail_id], "--id <id> passed first")
    check(args[2::2][:3] == ["--start-time-us", "--start-time-cpu-us",
                             "--parent-cpu-time-us"] and
          all(a.isdigit() for a in args[3:8:2]),
          "start-time flags passed with numeric values")
    check(args[8:] == ["--hold", *extra_args], f"args after '--' reach the probe: {args[8:]}")
    check(facts.get("root", "").rstrip(",").split(",") and
          sorted(facts["root"].rstrip(",").split(",")) ==
          sorted([EXEC_NAME, f"{EXEC_NAME}.pid", "dev", "run"]),
          f"/ is the jail: {facts.get('root')}")
    check(facts.get("proc_visible") == "0", "no /proc or other host file in the jail")
    check(all(facts.get(k) == str(NOBODY) for k in ("uid", "euid", "gid", "egid")),
          "uid/euid/gid/egid are 65534")
    check(facts.get("groups") == "0", "no supplementary groups")
    check(all(facts.get(f"cap_{s}") == "0" for s in ("eff", "prm", "inh", "bnd", "amb")),
          "capabilities: effective, permitted, inheritable, bounding, ambient all empty")
    check(facts.get("no_new_privs") == "1", "no_new_privs set")
    check(facts.get("envc") == "0", "environment is empty")
    check(facts.get("open_fds") == "0", "no inherited fd above 2")


def check_common_outside(env, pid, jail_id):
    """What /proc/<pid> and the host's jail directory must show."""
    status = proc_status(pid)
    for cap in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"):
        check(int(status[cap], 16) == 0, f"/proc/{pid}/status {cap} = {status[cap]}")
    check(status["NoNewPrivs"] == "1", "/proc/<pid>/status NoNewPrivs 1")
    check(status["Uid"].split() == [str(NOBODY)] * 4 and status["Gid"].split() == [str(NOBODY)] * 4,
          "/proc/<pid>/status Uid and Gid all 65534")
    check(os.stat(f"/proc/{pid}/ns/mnt").st_ino != os.stat("/proc/self/ns/mnt").st_ino,
          "runs in a new mount namespace")
    mounts = read(f"/proc/{pid}/mountinfo").splitlines()
    check(len(mounts) == 1 and mounts[0].split()[4] == "/",
          f"its mount namespace holds only the jail's root ({len(mounts)} mounts)")
    check(read(f"/proc/{pid}/environ") == "", "/proc/<pid>/environ is empty")
    check(sorted(os.listdir(f"/proc/{pid}/root")) ==
          sorted([EXEC_NAME, f"{EXEC_NAME}.pid", "dev", "run", "probe.out"]),
          "/proc/<pid>/root is the jail")

    root = env.jail_dir(jail_id)
    st = os.stat(root)
    check(st.st_uid == NOBODY and st.st_gid == NOBODY and st.st_mode & 0o777 == 0o700,
          "jail root is 0700 65534:65534")
    copy = os.lstat(os.path.join(root, EXEC_NAME))
    orig = os.stat(env.probe)
    check(copy.st_nlink == 1 and copy.st_ino != orig.st_ino and
          (copy.st_uid, copy.st_gid) == (NOBODY, NOBODY),
          "exec file is a copy (not a link) owned by 65534:65534")
    with open(env.probe, "rb") as a, open(os.path.join(root, EXEC_NAME), "rb") as b:
        check(a.read() == b.read(), "the copy has the exec file's bytes")
    for d in ("dev", "dev/net", "run"):
        s = os.lstat(os.path.join(root, d))
        check(s.st_uid == NOBODY and s.st_gid == NOBODY and s.st_mode & 0o7777 == 0o700,
              f"/{d} is a 0700 directory owned by 65534:65534")
    nodes = {"dev/kvm": (10, 232), "dev/net/tun": (10, 200), "dev/urandom": (1, 9)}
    uffd = misc_minor("userfaultfd")
    if uffd is not None:
        nodes["dev/userfaultfd"] = (10, uffd)
    want_dev = sorted(["kvm", "net", "urandom"] + (["userfaultfd"] if uffd is not None else []))
    check(sorted(os.listdir(os.path.join(root, "dev"))) == want_dev, f"/dev holds {want_dev}")
    for node, (major, minor) in nodes.items():
        s = os.lstat(os.path.join(root, node))
        check(stat.S_ISCHR(s.st_mode) and
              (os.major(s.st_rdev), os.minor(s.st_rdev)) == (major, minor) and
              (s.st_uid, s.st_gid) == (NOBODY, NOBODY) and s.st_mode & 0o777 == 0o600,
              f"/{node} is char {major}:{minor}, 0600, 65534:65534")


def test_plain_v1(env, timings):
    print("jail: cgroup v1, rlimits, extra args, inherited fd and environment")
    jail_id = f"{env.tag}-plain"
    flags = ["--resource-limit", "no-file=64", "--resource-limit", "fsize=10485760",
             "--parent-cgroup", env.parent_cgroup]
    cgroups = {}
    for ctrl, file, value in (("pids", "pids.max", "50"),
                              ("memory", "memory.limit_in_bytes", "67108864"),
                              ("cpuset", "cpuset.cpus", "0")):
        if ctrl in env.v1:
            flags += ["--cgroup", f"{file}={value}"]
            cgroups[ctrl] = (file, value)
    check("pids" in cgroups, "this host has a v1 pids hierarchy to test with")

    leak_r, leak_w = os.pipe()
    proc, _, err = env.run(jail_id, flags, probe_args=["two words", "--x=y"],
                           env={"SECRET": "leaked", "PATH": "/usr/bin"},
                           pass_fds=(leak_r, leak_w))
    os.close(leak_r)
    os.close(leak_w)
    pid, facts = env.started(jail_id)
    if not check(pid is not None, "probe started"):
        proc.kill()
        err.seek(0)
        print(err.read().decode())
        return
    timings.append(int(facts.get("jailer_us", "0")))
    check(pid == proc.pid, "without --new-pid-ns the jailer itself becomes the probe")
    check_common_inside(facts, jail_id, ["two words", "--x=y"])
    check_common_outside(env, pid, jail_id)
    check(facts.get("nofile") == "64/64", f"RLIMIT_NOFILE 64 (probe sees {facts.get('nofile')})")
    check(facts.get("fsize") == "10485760/10485760", "RLIMIT_FSIZE 10485760")
    limits = read(f"/proc/{pid}/limits")
    check(any(l.startswith("Max open files") and l.split()[3:5] == ["64", "64"]
              for l in limits.splitlines()), "/proc/<pid>/limits shows 64 open files")
    check(facts.get("pid") != "1", "no new PID namespace without --new-pid-ns")
    check(os.stat(f"/proc/{pid}/ns/pid").st_ino == os.stat("/proc/self/ns/pid").st_ino,
          "same PID namespace as the caller")
    proc_cgroup = read(f"/proc/{pid}/cgroup")
    for ctrl, (file, value) in cgroups.items():
        path = os.path.join(env.v1[ctrl], env.parent_cgroup, jail_id)
        got = read(os.path.join(path, file)).strip()
        check(got == value, f"v1 {file} = {got} (want {value})")
        check(str(pid) in read(os.path.join(path, "tasks")).split(), f"v1 {ctrl} tasks holds the pid")
        check(f"{ctrl}:/{env.parent_cgroup}/{jail_id}" in proc_cgroup,
              f"/proc/<pid>/cgroup shows {ctrl}:/{env.parent_cgroup}/{jail_id}")
    if "cpuset" in cgroups:
        mems = read(os.path.join(env.v1["cpuset"], env.parent_cgroup, jail_id, "cpuset.mems")).strip()
        check(mems != "", f"empty cpuset.mems inherited from the parent ({mems})")
    env.release(jail_id, pid)
    check(proc.wait(10) == 0, "probe exited 0 after release")

    print("existing jail")
    before = sorted(os.listdir(env.jail_dir(jail_id)))
    proc, _, err = env.run(jail_id, hold=False)
    rc = proc.wait(10)
    err.seek(0)
    msg = err.read().decode()
    check(rc == 1 and "jail already exists" in msg, f"a second jail with the same id fails: {rc} {msg.strip()}")
    check(sorted(os.listdir(env.jail_dir(jail_id))) == before, "the existing jail is left as it was")


def enable_v2_target(env):
    """A --cgroup setting v2 can take here: pids.max if pids is on v2, else hugetlb, else core."""
    available = read(os.path.join(env.v2, "cgroup.controllers")).split()
    if "pids" in available:
        return "pids", "pids.max", "50"
    if "hugetlb" in available:
        return "hugetlb", "hugetlb.2MB.max", "4194304"
    return None, "cgroup.max.descendants", "0"


def test_pid_ns_v2(env, timings):
    print("jail: --new-pid-ns and cgroup v2")
    if not check(env.v2 is not None, "this host has a cgroup2 mount"):
        return
    env.v2_root_subtree = read(os.path.join(env.v2, "cgroup.subtree_control")).split()
    ctrl, file, value = enable_v2_target(env)
    jail_id = f"{env.tag}-pidns"
    flags = ["--new-pid-ns", "--cgroup-version", "2", "--parent-cgroup", env.parent_cgroup,
             "--cgroup", f"{file}={value}", "--cgroup", "cgroup.max.depth=2"]
    t0 = time.monotonic()
    proc, _, err = env.run(jail_id, flags)
    rc = proc.wait(10)
    took = time.monotonic() - t0
    err.seek(0)
    check(rc == 0, f"jailer exits 0 once the child exec'd ({rc}) {err.read().decode().strip()}")
    pid, facts = env.started(jail_id)
    if not check(pid is not None, "probe started"):
        return
    timings.append(int(facts.get("jailer_us", "0")))
    check(took < 5 and alive(pid), "jailer returned while the probe runs")
    check_common_inside(facts, jail_id, [])
    check_common_outside(env, pid, jail_id)
    check(facts.get("pid") == "1", "probe is PID 1 in its namespace")
    check(os.stat(f"/proc/{pid}/ns/pid").st_ino != os.stat("/proc/self/ns/pid").st_ino,
          "runs in a new PID namespace")
    check(proc_status(pid)["NSpid"].split() == [str(pid), "1"], "pid file holds the host's pid of PID 1")
    check(facts.get("sid_is_self") == "1", "PID 1 leads its own session")
    leaf = os.path.join(env.v2, env.parent_cgroup, jail_id)
    check(read(os.path.join(leaf, file)).strip() == value, f"v2 {file} = {value}")
    check(read(os.path.join(leaf, "cgroup.max.depth")).strip() == "2", "v2 core file written too")
    check(str(pid) in read(os.path.join(leaf, "cgroup.procs")).split(), "v2 cgroup.procs holds the pid")
    check(f"0::/{env.parent_cgroup}/{jail_id}" in read(f"/proc/{pid}/cgroup").splitlines(),
          f"/proc/<pid>/cgroup shows 0::/{env.parent_cgroup}/{jail_id}")
    if ctrl:
        check(ctrl in read(os.path.join(env.v2, env.parent_cgroup, "cgroup.subtree_control")).split(),
              f"{ctrl} enabled in the parent's cgroup.subtree_control")
    env.release(jail_id, pid)


def test_daemonize(env, timings, new_pid_ns):
    flags = ["--daemonize"] + (["--new-pid-ns"] if new_pid_ns else [])
    print(f"jail: {' '.join(flags)}")
    jail_id = f"{env.tag}-daemon{'-pidns' if new_pid_ns else ''}"
    t0 = time.monotonic()
    proc, out, err = env.run(jail_id, flags)
    rc = proc.wait(10)
    took = time.monotonic() - t0
    check(rc == 0 and took < 2, f"jailer returns at once with 0 ({rc}, {took * 1000:.0f} ms)")
    pid, facts = env.started(jail_id)
    if not check(pid is not None, "daemonized probe runs and writes into its jail"):
        return
    timings.append(int(facts.get("jailer_us", "0")))
    check(alive(pid) and pid != proc.pid, "probe still runs after the jailer returned")
    check_common_inside(facts, jail_id, [])
    check(os.getsid(pid) != os.getsid(0), "probe runs in a session of its own")
    check(all(os.readlink(f"/proc/{pid}/fd/{fd}") == "/dev/null" for fd in (0, 1, 2)),
          "stdin, stdout and stderr are /dev/null")
    out.seek(0)
    check(out.read() == b"", "nothing reaches the caller's stdout")
    check((facts.get("pid") == "1") == new_pid_ns, f"pid in namespace: {facts.get('pid')}")
    env.release(jail_id, pid)


def test_netns(env):
    print("jail: --netns")
    name = f"ignis-jailer-{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", name], check=False).returncode != 0:
        check(False, "ip netns add (iproute2) works")
        return
    env.netns = name
    jail_id = f"{env.tag}-netns"
    proc, _, _ = env.run(jail_id, ["--netns", f"/run/netns/{name}"])
    pid, facts = env.started(jail_id)
    if not check(pid is not None, "probe started"):
        return
    check(os.stat(f"/proc/{pid}/ns/net").st_ino == os.stat(f"/run/netns/{name}").st_ino,
          "runs in the --netns network namespace")
    env.release(jail_id, pid)
    proc.wait(10)


def test_bad_arguments(env):
    print("bad command lines: exit 153 and a message, nothing created")
    before = sorted(os.listdir(env.base))
    not_file = tempfile.mkdtemp(dir=env.base)
    before = sorted(os.listdir(env.base))
    base = ["--exec-file", env.probe, "--uid", "65534", "--gid", "65534",
            "--chroot-base-dir", env.base]
    cases = [
        ("missing --id", base, "missing required flag '--id'"),
        ("bad id characters", ["--id", "a/../b", *base], "invalid --id 'a/../b'"),
        ("id longer than 64", ["--id", "x" * 65, *base], "invalid --id"),
        ("missing exec file", ["--id", "a", "--exec-file", "/nonexistent/ignis", "--uid", "1",
                               "--gid", "1", "--chroot-base-dir", env.base],
         "exec file '/nonexistent/ignis': No such file or directory"),
        ("exec file is a directory", ["--id", "a", "--exec-file", not_file, "--uid", "1",
                                      "--gid", "1", "--chroot-base-dir", env.base],
         "is not a regular file"),
        ("non-numeric uid", ["--id", "a", "--exec-file", env.probe, "--uid", "nobody",
                             "--gid", "1", "--chroot-base-dir", env.base], "invalid --uid 'nobody'"),
        ("non-numeric gid", ["--id", "a", "--exec-file", env.probe, "--uid", "1",
                             "--gid", "-1", "--chroot-base-dir", env.base], "invalid --gid '-1'"),
        ("unknown flag", ["--id", "a", *base, "--bogus"], "unknown flag '--bogus'"),
        ("bad --resource-limit", ["--id", "a", *base, "--resource-limit", "nproc=5"],
         "unknown resource 'nproc'"),
        ("bad --resource-limit value", ["--id", "a", *base, "--resource-limit", "no-file=x"],
         "'x' is not a number"),
        ("bad --cgroup", ["--id", "a", *base, "--cgroup", "pids.max"], "invalid --cgroup"),
        ("bad --cgroup-version", ["--id", "a", *base, "--cgroup-version", "3"],
         "invalid --cgroup-version '3'"),
        ("bad --parent-cgroup", ["--id", "a", *base, "--parent-cgroup", "../x"],
         "invalid --parent-cgroup"),
    ]
    for what, args, want in cases:
        r = subprocess.run([env.jailer, *args], capture_output=True, text=True, timeout=10)
        check(r.returncode == 153 and want in r.stderr and
              r.stderr.startswith("ignis-jailer: arguments: "),
              f"{what}: exit {r.returncode}, {r.stderr.strip()}")
    check(sorted(os.listdir(env.base)) == before, "no argument error created anything")
    os.rmdir(not_file)
    r = subprocess.run([env.jailer, "--version"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and r.stdout.startswith("ignis-jailer v"), f"--version: {r.stdout.strip()}")


def test_failures_leave_nothing_behind(env):
    print("failed runs: clear error, nothing a rerun trips over")
    # A cgroup file that does not exist: fails after the jail dir and cgroup exist.
    jail_id = f"{env.tag}-cgfail"
    flags = ["--parent-cgroup", env.parent_cgroup]
    proc, _, err = env.run(jail_id, flags + ["--cgroup", "pids.bogus=1"], hold=False)
    rc = proc.wait(10)
    err.seek(0)
    msg = err.read().decode()
    check(rc == 1 and msg.startswith("ignis-jailer: cgroup: ") and "pids.bogus" in msg,
          f"bad cgroup file: exit {rc}, {msg.strip()}")
    check(not os.path.exists(os.path.join(env.base, EXEC_NAME, jail_id)),
          "the jail directory it made is gone")
    if "pids" in env.v1:
        check(not os.path.exists(os.path.join(env.v1["pids"], env.parent_cgroup, jail_id)),
              "the cgroup it made is gone")
    proc, _, _ = env.run(jail_id, flags + ["--cgroup", "pids.max=10"])
    pid, facts = env.started(jail_id)
    check(pid is not None and facts.get("end") == "1", "a rerun with the same id works")
    if pid:
        env.release(jail_id, pid)
        proc.wait(10)

    # An exec that fails inside the jail, after privileges are gone: a dynamic binary.
    dynamic = shutil.which("true")
    for pidns in (False, True):
        jail_id = f"{env.tag}-execfail{'-pidns' if pidns else ''}"
        for attempt in (1, 2):
            cmd = [env.jailer, "--id", jail_id, "--exec-file", dynamic, "--uid", "65534",
                   "--gid", "65534", "--chroot-base-dir", env.base] + (["--new-pid-ns"] if pidns else [])
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            check(r.returncode == 1 and r.stderr.startswith("ignis-jailer: exec: /true") and
                  "already exists" not in r.stderr,
                  f"exec failure{' (pid ns)' if pidns else ''}, run {attempt}: exit {r.returncode}, "
                  f"{r.stderr.strip()}")
        root = os.path.join(env.base, "true", jail_id, "root")
        check(os.listdir(root) == [], "the failed jail is left empty")

    # A hard link planted where the copy goes is refused, and the host file survives.
    jail_id = f"{env.tag}-link"
    root = env.jail_dir(jail_id)
    os.makedirs(root)
    victim = os.path.join(env.base, "victim")
    with open(victim, "w") as f:
        f.write("host data")
    os.link(victim, os.path.join(root, EXEC_NAME))
    proc, _, err = env.run(jail_id, hold=False)
    rc = proc.wait(10)
    err.seek(0)
    msg = err.read().decode()
    check(rc == 1 and "hard links" in msg, f"hard-linked destination refused: {msg.strip()}")
    check(read(victim) == "host data", "the linked host file is untouched")


def measure(env, timings, runs=10):
    """Plain jails (no cgroups, no hold): jailer start to probe start."""
    for i in range(runs):
        jail_id = f"{env.tag}-time{i}"
        proc, _, _ = env.run(jail_id, hold=False)
        proc.wait(10)
        pid, facts = env.started(jail_id)
        if "jailer_us" in facts:
            timings.append(int(facts["jailer_us"]))


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    if os.geteuid() != 0:
        print("SKIPPED: ignis-jailer tests need root")
        return 77
    env = Env(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
    scenario_us, plain_us = [], []
    scenarios = [
        lambda: test_plain_v1(env, scenario_us),
        lambda: test_pid_ns_v2(env, scenario_us),
        lambda: test_daemonize(env, scenario_us, new_pid_ns=False),
        lambda: test_daemonize(env, scenario_us, new_pid_ns=True),
        lambda: test_netns(env),
        lambda: test_bad_arguments(env),
        lambda: test_failures_leave_nothing_behind(env),
        lambda: measure(env, plain_us),
    ]
    try:
        for scenario in scenarios:
            try:
                scenario()
            except Exception as e:  # a hang or crash fails the scenario, not the cleanup
                check(False, f"scenario raised {e!r}")
    finally:
        env.cleanup()
    if plain_us:
        print(f"jailer exec -> probe exec, plain jail ({len(plain_us)} runs): "
              f"median {statistics.median(plain_us)} us, min {min(plain_us)}, max {max(plain_us)}")
    if scenario_us:
        print(f"jailer exec -> probe exec, scenarios with cgroups/daemonize/pid ns: {scenario_us} us")
    if failures:
        print(f"{len(failures)} check(s) failed:")
        for f in failures:
            print(f"  - {f}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
