#!/usr/bin/env python3
# Writes the seed corpus for fuzz_virtq_blk (the input layout is described at
# the top of fuzz_virtq_blk.c): a few well-formed requests for the fuzzer to
# start mutating from. Usage: tests/fuzz/make_seeds.py [DIR] (default: corpus/)
import os
import struct
import sys

F_INDIRECT, F_EVENT_IDX, F_READ_ONLY, F_WRITEBACK, F_TWO_REGIONS = 1, 2, 4, 8, 16
NEXT, WRITE, INDIRECT = 1, 2, 4
T_IN, T_OUT, T_FLUSH, T_GET_ID = 0, 1, 4, 8
READ = 0x2000  # a register read instead of a write
QLOG2 = 2  # queue size 4: descriptors at 0, avail ring at 0x40, used ring at 0x50
QSIZE = 1 << QLOG2
AVAIL = 16 * QSIZE
HDR, STATUS, DATA, TABLE = 0x100, 0x1f0, 0x200, 0x180


def seed(flags, kicks=1, bumps=(0, 0, 0), writes=(), chains=(), extra=()):
    """chains: list of (head, [(idx, addr, len, flags, next)], table_entries)."""
    image = bytearray(0x400)
    heads = []
    for head, descs in chains:
        for idx, addr, length, fl, nxt in descs:
            struct.pack_into("<QIHH", image, 16 * idx, addr, length, fl, nxt)
        heads.append(head)
    for gpa, blob in extra:
        image[gpa:gpa + len(blob)] = blob
    struct.pack_into("<HH", image, AVAIL, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into("<H", image, AVAIL + 4 + 2 * i, h)
    out = bytes([flags, QLOG2, kicks - 1, len(writes)]) + bytes(bumps) + b"\0"
    for off, val in writes:
        out += struct.pack("<HI", off | (2 << 14), val)  # 4-byte accesses; READ: bit 13
    return out + bytes(image)


def hdr(t, sector, at=HDR):
    return (at, struct.pack("<IIQ", t, 0, sector))


def request(head, data_flags, data_len=512, status=STATUS, at=HDR):
    d = [(head, at, 16, NEXT, head + 1)]
    if data_len:
        d.append((head + 1, DATA, data_len, data_flags | NEXT, head + 2))
        d.append((head + 2, status, 1, WRITE, 0))
    else:
        d.append((head + 1, status, 1, WRITE, 0))
    return (head, d)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "read": seed(0, chains=[request(0, WRITE)], extra=[hdr(T_IN, 3)]),
        "write": seed(F_WRITEBACK, chains=[request(0, 0)], extra=[hdr(T_OUT, 5)]),
        "flush-and-get-id": seed(
            F_EVENT_IDX,
            chains=[request(0, 0, 0), request(2, WRITE, 20, STATUS + 1, HDR + 0x20)],
            extra=[hdr(T_FLUSH, 0), hdr(T_GET_ID, 0, HDR + 0x20)]),
        "indirect-read": seed(
            F_INDIRECT | F_TWO_REGIONS,
            chains=[(0, [(0, TABLE, 48, INDIRECT, 0)])],
            extra=[hdr(T_IN, 1),
                   (TABLE, struct.pack("<QIHH", HDR, 16, NEXT, 1) +
                    struct.pack("<QIHH", DATA, 512, WRITE | NEXT, 2) +
                    struct.pack("<QIHH", STATUS, 1, WRITE, 0))]),
        "kicks-and-reset": seed(
            F_READ_ONLY, kicks=3, bumps=(1, 1, 0),
            writes=[(READ | 0x100, 0), (0x070, 0), (0x064, 3), (0x050, 0)],
            chains=[request(0, WRITE)], extra=[hdr(T_IN, 7)]),
    }
    for name, blob in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
