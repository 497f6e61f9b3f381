#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The include graph of ignis's product code, and the layering it must keep.

Run by the unit tier (ctest unit_include_graph). It reads every .c and .h under
the product folders, resolves each `#include "..."` from the repository root
(the one include root: a quoted include names a file by its path from there)
and fails on:

- an include that does not name a file from the root;
- a cycle between modules (a module is x.c plus x.h: vm.c including vcpu.h
  and vcpu.c including vm.h is a cycle even though no header loops);
- a cycle between folders;
- a system header a file or folder may not include (FORBIDDEN_SYSTEM);
- an edge the layering forbids: every folder lists below the folders it may
  include, and anything not listed is forbidden.

Usage: scripts/check-includes.py [ROOT]   (default: the repository this is in)
"""
import os
import re
import sys
from collections import defaultdict

# Folder -> the folders its files may include (besides its own). The order
# reads bottom-up: a folder only names folders above it in this list.
LAYERS = {
    # A leaf: error buffers, logging, fd I/O, the clock, the epoll loop.
    "vmm/util": [],
    # The machine's configuration as plain data and its rules (no JSON).
    "vmm/config": ["vmm/util"],
    # The API's models: JSON bodies and the config file into typed commands
    # and struct vm_config; the GET answers back to JSON.
    "api/models": ["vmm/util", "vmm/config"],
    # The snapshot file formats: state codec, memory-file merge, Uffd
    # handshake. A leaf library: no KVM, no devices.
    "snapshot/format": ["vmm/util"],
    # seccomp policies, the JSON policy parser, the installer.
    "vmm/security": ["vmm/util"],
    # Guest RAM: anonymous, hugetlbfs, restored from a file or a Uffd handler.
    "vmm/memory": ["vmm/util", "vmm/config", "snapshot/format"],
    # The x86_64 boot protocol, guest physical layout, CPUID, registers.
    "vmm/arch/x86_64": ["vmm/util", "vmm/config", "vmm/memory"],
    # KVM objects: vCPU threads, the run-control protocol, the buses.
    "vmm/kvm": ["vmm/util", "vmm/config", "vmm/memory", "vmm/arch/x86_64", "vmm/security"],
    # Host-side back ends: disk files, io_uring, TAP.
    "vmm/io": ["vmm/util", "vmm/config"],
    # Devices the guest sees. Never the API, never the machine that holds them.
    "vmm/devices": ["vmm/util", "vmm/config", "vmm/memory", "vmm/kvm", "vmm/io",
                    "vmm/arch/x86_64"],
    # virtio devices fill the device interface (vmm/devices/device.h); the
    # folder above never includes them back.
    "vmm/devices/virtio": ["vmm/util", "vmm/config", "vmm/memory", "vmm/kvm", "vmm/io",
                           "vmm/arch/x86_64", "vmm/devices"],
    # One microVM assembled: memory, vCPUs, devices.
    "vmm/machine": ["vmm/util", "vmm/config", "vmm/memory", "vmm/arch/x86_64", "vmm/kvm",
                    "vmm/io", "vmm/devices", "vmm/devices/virtio", "vmm/security"],
    # Snapshot create and load of a machine: the state schema, the memory
    # file writer, the timing lines.
    "snapshot": ["vmm/util", "snapshot/format", "vmm/config", "vmm/memory", "vmm/arch/x86_64",
                 "vmm/kvm", "vmm/io", "vmm/devices", "vmm/devices/virtio", "vmm/machine"],
    "snapshot/tools": ["vmm/util", "snapshot/format", "snapshot"],
    # The HTTP side: never the VMM core (it talks to it through the channel).
    "api": ["vmm/util", "vmm/config", "api/models"],
    # Process wiring, the VMM thread, the controller: may use everything
    # except the jailer.
    "vmm": ["vmm/util", "vmm/config", "snapshot/format", "vmm/security", "vmm/memory",
            "vmm/arch/x86_64", "vmm/kvm", "vmm/io", "vmm/devices", "vmm/devices/virtio",
            "vmm/machine", "snapshot", "api", "api/models"],
    # The jailer shares nothing with the VMM but the utilities.
    "jailer": ["vmm/util"],
}
PRODUCT = ["vmm", "snapshot", "api", "jailer"]
# System headers a file or folder may not include: JSON stays on the API
# thread's side (typed commands), so the configuration and the VMM thread's
# request handlers never see jansson.
FORBIDDEN_SYSTEM = {
    "vmm/config": ["jansson.h"],
    "vmm/controller.c": ["jansson.h"], "vmm/controller.h": ["jansson.h"],
    "vmm/controller_snapshot.c": ["jansson.h"], "vmm/controller_snapshot.h": ["jansson.h"],
    "api/models/command.h": ["jansson.h"],
}
SYSTEM_INCLUDE = re.compile(r'^\s*#\s*include\s+<([^>]+)>')
SKIP = {"tests"}  # api/tests: test code, not product
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def sources(root):
    for top in PRODUCT:
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(x for x in dirs if x not in SKIP)
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(d, f), root)


def module(path):
    return os.path.splitext(path)[0]


def sccs(graph):
    """Tarjan's strongly connected components with more than one node."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.setrecursionlimit(10000)
    errors = []
    mods = defaultdict(set)   # module -> modules it includes
    folders = defaultdict(set)
    why = {}                  # (folder, folder) -> one file:line that makes the edge
    nfiles = nedges = 0
    for src in sources(root):
        nfiles += 1
        folder = os.path.dirname(src)
        if folder not in LAYERS:
            errors.append(f"{src}: folder {folder} is not in the layer list (scripts/check-includes.py)")
            continue
        with open(os.path.join(root, src), encoding="utf-8") as fh:
            banned = FORBIDDEN_SYSTEM.get(src, []) + FORBIDDEN_SYSTEM.get(folder, [])
            for lineno, line in enumerate(fh, 1):
                sm = SYSTEM_INCLUDE.match(line)
                if sm and sm.group(1) in banned:
                    errors.append(f"{src}:{lineno}: may not include <{sm.group(1)}>")
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = m.group(1)
                where = f"{src}:{lineno}"
                if not os.path.isfile(os.path.join(root, target)):
                    errors.append(f'{where}: "{target}" does not name a file from the repository root')
                    continue
                nedges += 1
                if module(target) != module(src):
                    mods[module(src)].add(module(target))
                tfolder = os.path.dirname(target)
                if tfolder == folder:
                    continue
                if tfolder not in LAYERS.get(folder, []):
                    errors.append(f"{where}: {folder} may not include {tfolder} ({target})")
                folders[folder].add(tfolder)
                why.setdefault((folder, tfolder), where)
    for comp in sccs(mods):
        errors.append("module cycle: " + " <-> ".join(comp))
    for comp in sccs(folders):
        edges = [f"{a} -> {b} ({why[(a, b)]})" for a in comp for b in comp
                 if (a, b) in why]
        errors.append("folder cycle: " + "; ".join(edges))
    for e in errors:
        print(e)
    print(f"check-includes: {nfiles} files, {nedges} includes, {len(mods)} modules, "
          f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
