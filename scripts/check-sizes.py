#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Size limits of ignis's product code (STYLE.md: files under ~600 lines,
functions under ~80), and no macro that hides a `return`.

Run by the unit tier (ctest unit_code_sizes). A function's length counts
from the line of its opening brace to its closing brace, both included,
so a function of 80 lines passes. Functions are found the kernel-style way
the code is written: a line that is exactly "{" after a line that closes a
parameter list, ending at the next line that is exactly "}".

Usage: scripts/check-sizes.py [ROOT]
"""
import importlib.util
import os
import re
import sys

FILE_MAX = 600
FUNC_MAX = 80
DEFINE = re.compile(r"^\s*#\s*define\b")


def _include_check():
    """scripts/check-includes.py as a module: its sources() picks the files."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("check_includes",
                                                  os.path.join(here, "check-includes.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sources = _include_check().sources


def macros(lines):
    """(line number, name) of each #define whose body contains `return`."""
    i = 0
    while i < len(lines):
        if DEFINE.match(lines[i]):
            start, body = i, lines[i]
            while body.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                body += lines[i]
            if re.search(r"\breturn\b", body):
                name = body.split()[1].split("(")[0] if len(body.split()) > 1 else "?"
                yield start + 1, name
        i += 1


def functions(lines):
    """(first line, length, name) of each function body."""
    for i, line in enumerate(lines):
        if line.rstrip() != "{" or i == 0:
            continue
        # The signature: back to the line holding the function's name.
        j = i - 1
        while j > 0 and "(" not in lines[j]:
            j -= 1
        m = re.search(r"(\w+)\s*\(", lines[j])
        if not m or lines[i - 1].rstrip().endswith((";", "=")):
            continue
        for k in range(i + 1, len(lines)):
            if lines[k].rstrip() == "}":
                yield i + 1, k - i + 1, m.group(1)
                break


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems = []
    for src in sources(root):
        with open(os.path.join(root, src), encoding="utf-8") as fh:
            lines = fh.read().split("\n")
        n = len(lines) - (1 if lines and lines[-1] == "" else 0)
        if n > FILE_MAX:
            problems.append(f"{src}: {n} lines (limit {FILE_MAX})")
        for start, length, name in functions(lines):
            if length > FUNC_MAX:
                problems.append(f"{src}:{start}: {name}() is {length} lines (limit {FUNC_MAX})")
        for line, name in macros(lines):
            problems.append(f"{src}:{line}: macro {name} hides a return")
    for p in problems:
        print(p)
    print(f"check-sizes: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
