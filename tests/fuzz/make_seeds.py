#!/usr/bin/env python3
# Writes the seed corpus of a fuzz target (each input layout is described at
# the top of its fuzz_<target>.c): a few well-formed inputs for the fuzzer
# to start mutating from.
# Usage: tests/fuzz/make_seeds.py [TARGET] [DIR]
#   TARGET  virtq_blk (default, into corpus/), virtio_net (corpus-net/),
#           http (corpus-http/) or device_restore (corpus-restore/)
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


def blk_seeds():
    return {
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


# ---- fuzz_virtio_net ----

N_MRG, N_EVENT_IDX, N_OFFLOADS, N_SMALL_SNDBUF = 1, 2, 4, 16  # 8: unused
(TAP_SEND, KICK_RX, KICK_TX, TAP_EVENT, TAP_DRAIN, RAM_WRITE, AVAIL_BUMP, REG_WRITE,
 REG_READ) = range(9)
EV_IN, EV_OUT, EV_ERR, EV_HUP = 1, 2, 4, 8
FRAME_SRC = 0x800  # where the TAP's frames are cut from
NET_BUF = 0x400    # guest buffers (TX frames, RX room) from here
VNET_HDR = 12


def net_rings(log2_rx, log2_tx):
    """(desc, avail, used) of RX and TX, packed as fuzz_virtio_net.c places them."""
    def place(size, at):
        avail = at + 16 * size
        return at, avail, (avail + 6 + 2 * size + 3) & ~3
    rs, ts = 1 << log2_rx, 1 << log2_tx
    rx = place(rs, 0)
    return rx, place(ts, (rx[2] + 6 + 8 * rs + 15) & ~15), rs, ts


def net_seed(flags, steps, rx=(), tx=(), extra=(), frame=b"", log2=(2, 2)):
    """rx/tx: lists of chains, each a list of (idx, addr, len, flags, next), head first."""
    (rxd, rxa, _), (txd, txa, _), rs, ts = net_rings(*log2)
    image = bytearray(FRAME_SRC + len(frame))
    image[FRAME_SRC:] = frame
    for table, avail, chains in ((rxd, rxa, rx), (txd, txa, tx)):
        for i, chain in enumerate(chains):
            for idx, addr, length, fl, nxt in chain:
                struct.pack_into("<QIHH", image, table + 16 * idx, addr, length, fl, nxt)
            struct.pack_into("<H", image, avail + 4 + 2 * i, chain[0][0])
        struct.pack_into("<HH", image, avail, 0, len(chains))
    for gpa, blob in extra:
        image[gpa:gpa + len(blob)] = blob
    out = bytes([flags, log2[0], log2[1], len(steps)])
    for kind, arg, value in steps:
        out += struct.pack("<BBI", kind, arg, value)
    return out + bytes(image)


def tx_frame(idx, addr, payload):
    """A TX chain: the vnet header, then the payload in a second descriptor."""
    return [(idx, addr, VNET_HDR, NEXT, idx + 1), (idx + 1, addr + VNET_HDR, payload, 0, 0)]


def rx_buffers(n, size, at=NET_BUF):
    return [[(i, at + i * size, size, WRITE, 0)] for i in range(n)]


def vnet_frame(payload, gso=0, csum=False):
    """A frame as a TAP hands it over: the vnet header (num_buffers junk), then the payload."""
    h = struct.pack("<BBHHHHH", 1 if csum else 0, gso, 0, 0, 0, 0, 0x7777)
    return h + bytes((i * 7) & 0xff for i in range(payload))


def net_seeds():
    frame = vnet_frame(200, csum=True)
    return {
        "tx-one": net_seed(0, [(KICK_TX, 0, 0), (TAP_DRAIN, 0, 0)],
                           tx=[tx_frame(0, NET_BUF, 100)]),
        "rx-one": net_seed(N_EVENT_IDX, [(TAP_SEND, 0, len(frame)), (KICK_RX, 0, 0)],
                           rx=rx_buffers(2, 1526), frame=frame),
        "rx-mergeable": net_seed(
            N_MRG | N_OFFLOADS,
            [(TAP_SEND, 0, 700), (KICK_RX, 0, 0), (TAP_SEND, 0, 90),
             (TAP_EVENT, EV_IN, 0), (AVAIL_BUMP, 0, 1), (KICK_RX, 0, 0)],
            rx=rx_buffers(4, 256), frame=vnet_frame(700)),
        # Not negotiated (virtio-net never offers it): a bad chain, the device needs a reset.
        "tx-indirect": net_seed(
            0, [(KICK_TX, 0, 0), (TAP_DRAIN, 0, 0)],
            tx=[[(0, 0x300, 32, INDIRECT, 0)]],
            extra=[(0x300, struct.pack("<QIHH", NET_BUF, VNET_HDR, NEXT, 1) +
                    struct.pack("<QIHH", NET_BUF + VNET_HDR, 64, 0, 0))]),
        "hostile-frames": net_seed(
            N_MRG,
            [(TAP_SEND, 0, 5), (TAP_SEND, 0, 65599), (KICK_RX, 0, 0), (KICK_TX, 0, 0),
             (TAP_EVENT, EV_IN | EV_OUT, 0), (TAP_DRAIN, 0, 0)],
            rx=[[(0, NET_BUF, 8, WRITE, 0)], [(1, NET_BUF, 4096, 0, 0)]],
            tx=[[(0, NET_BUF, 4, 0, 0)], [(1, NET_BUF, 64, WRITE, 0)]],
            frame=bytes(range(256)) * 2),
        "tx-backpressure": net_seed(
            N_SMALL_SNDBUF,
            [(KICK_TX, 0, 0), (TAP_EVENT, EV_OUT, 0), (TAP_DRAIN, 0, 0),
             (TAP_EVENT, EV_OUT, 0), (TAP_DRAIN, 0, 0)],
            tx=[tx_frame(2 * i, NET_BUF + i * 0x800, 1500 + i * 1200) for i in range(4)],
            log2=(2, 3)),
        "tap-gone": net_seed(
            0, [(TAP_EVENT, EV_ERR, 0), (KICK_TX, 0, 0), (TAP_SEND, 0, 80), (KICK_RX, 0, 0)],
            rx=rx_buffers(1, 1526), tx=[tx_frame(0, NET_BUF, 60)], frame=vnet_frame(68)),
        "reset-and-rewrite": net_seed(
            0, [(REG_READ, 0x70 // 4, 0), (REG_WRITE, 0x70 // 4, 0), (KICK_TX, 0, 0),
                (RAM_WRITE, 0, 0x12345678), (REG_WRITE, 0x30 // 4, 1)],
            tx=[tx_frame(0, NET_BUF, 60)]),
    }


# ---- fuzz_http ----

H_TYPED, H_SMALL_LIMIT, H_LAZY, H_SMALL_SNDBUF = 1, 2, 4, 8


def http_seed(flags, split, text, repeat_log2=0):
    return bytes([flags | repeat_log2 << 4, split]) + text


def put(target, body, extra=b""):
    return (b"PUT " + target + b" HTTP/1.1\r\nContent-Type: application/json\r\n" + extra +
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def http_seeds():
    machine = b'{"vcpu_count": 2, "mem_size_mib": 256}'
    drive = b'{"drive_id": "rootfs", "path_on_host": "/r.ext4", "is_root_device": true}'
    return {
        "get": http_seed(0, 0, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        "put-typed": http_seed(H_TYPED, 0, put(b"/machine-config", machine)),
        "pipelined-split": http_seed(
            H_TYPED, 7,
            b"GET /machine-config HTTP/1.1\r\n\r\n" + put(b"/drives/rootfs", drive) +
            put(b"/vm", b'{"state": "Paused"}').replace(b"PUT", b"PATCH", 1)),
        "expect-continue": http_seed(
            0, 16, put(b"/actions", b'{"action_type": "InstanceStart"}', b"Expect: 100-continue\r\n")),
        "chunked": http_seed(
            H_SMALL_LIMIT, 3,
            b"PUT /logger HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"10\r\n{\"log_path\": \"/l\r\n2\r\n\"}\r\n0\r\n\r\n"),
        "too-large": http_seed(
            0, 0, b"PUT /mmds HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n{}"),
        "head-and-close": http_seed(
            0, 0, b"HEAD / HTTP/1.1\r\n\r\nGET /version HTTP/1.0\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
        "malformed": http_seed(0, 1, b"GARBAGE \x00\r\n\r\n"),
        "upgrade": http_seed(
            0, 0, b"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nxx"),
        "long-target": http_seed(0, 0, b"GET /" + b"a" * 4200 + b" HTTP/1.1\r\n\r\n"),
        "cut-mid-request": http_seed(
            0, 5, b"GET / HTTP/1.1\r\n\r\nPUT /actions HTTP/1.1\r\nContent-Length: 30\r\n\r\n{"),
        # Answers still queued (nothing read, small send buffer) when the EOF cuts the PUT.
        "half-close-mid-pipeline": http_seed(
            H_LAZY | H_SMALL_SNDBUF, 0,
            b"GET / HTTP/1.1\r\n\r\n" * 200 +
            b"PUT /actions HTTP/1.1\r\nContent-Length: 30\r\n\r\n{"),
        "lazy-pipeline": http_seed(
            H_LAZY | H_SMALL_SNDBUF, 0, b"GET / HTTP/1.1\r\n\r\n" * 250, repeat_log2=3),
    }


# ---- fuzz_device_restore ----

D_UART, D_I8042, D_BLK, D_NET = range(4)
A_READ, A_WRITE, A_OTHER = range(3)


def restore_seed(device, accesses, state, ram=b"", bad=0):
    out = bytes([device, len(accesses), bad])
    for kind, off, value in accesses:
        out += struct.pack("<BBI", kind, off, value)
    return out + state + ram


def uart_state(ier=0, lcr=3, mcr=8, rx=b"", thr=0):
    """serial_state.h: the registers, then the RX FIFO oldest first."""
    return (bytes([ier, lcr, mcr, 0x60, 0xb0, 0, 12, 0, 0, thr, len(rx)]) +
            rx.ljust(64, b"\0"))


def i8042_state(ctr=5, outp=1, pending=0, buf=b""):
    return bytes([ctr, outp, pending, len(buf)]) + buf.ljust(16, b"\0")


def queue_state(size=0, ready=0, event_idx=0, desc=0, avail=0, used=0, last=0, used_idx=0):
    return struct.pack("<HBBBQQQHHHB", size or 256, ready, event_idx, 0, desc, avail, used,
                       last, used_idx, 0, 0)


def transport_state(features, status, activated, queues, interrupt=0):
    """mmio_state.h: the selectors, features, status words, activated, both queues."""
    out = struct.pack("<IIIQIIIB", 0, 0, 0, features, status, interrupt, 0, activated)
    for q in queues + [queue_state()] * (2 - len(queues)):
        out += q
    return out


def restore_seeds():
    running = 0x0f  # ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK
    v1 = 1 << 32
    blk_features = v1 | 1 << 9 | 1 << 2 | 1 << 6
    blk_ram = seed(0, chains=[request(0, WRITE)], extra=[hdr(T_IN, 3)])[8:]
    q4 = queue_state(4, 1, 0, 0, AVAIL, 0x50)
    (rxd, rxa, rxu), (txd, txa, txu), _, _ = net_rings(2, 2)
    net_ram = net_seed(0, [], rx=rx_buffers(2, 1526), tx=[tx_frame(0, NET_BUF, 100)])[4:]
    net_features = v1 | 1 << 5 | 1 << 3 | 1 << 15
    uart_io = [(A_READ, 5, 0), (A_READ, 0, 0), (A_READ, 2, 0), (A_WRITE, 1, 3), (A_READ, 2, 0),
               (A_WRITE, 3, 0x80), (A_READ, 0, 0), (A_WRITE, 4, 0x10), (A_WRITE, 0, 0x41),
               (A_OTHER, 4, 0x64636261), (A_WRITE, 2, 2)]
    return {
        "uart-fifo": restore_seed(D_UART, uart_io, uart_state(ier=1, rx=b"hello")),
        "uart-full": restore_seed(D_UART, uart_io[:3], uart_state(ier=3, rx=b"x" * 64, thr=1)),
        "i8042": restore_seed(D_I8042, [(A_READ, 1, 0), (A_READ, 0, 0), (A_WRITE, 1, 0x60),
                                        (A_WRITE, 0, 0x47), (A_WRITE, 1, 0x20), (A_OTHER, 0, 0),
                                        (A_WRITE, 0, 0xff), (A_READ, 0, 0)],
                              i8042_state(pending=0xd1, buf=b"\xfa\xaa")),
        "blk-running": restore_seed(
            D_BLK, [(A_OTHER, 0, 0), (A_READ, 0x70 // 4, 0), (A_WRITE, 0x64 // 4, 1)],
            transport_state(blk_features, running, 1, [q4], interrupt=1), blk_ram),
        "blk-idle": restore_seed(D_BLK, [(A_WRITE, 0x70 // 4, 1), (A_READ, 0x100 // 4, 0)],
                                 transport_state(0, 0, 0, [])),
        "blk-wrong-drive": restore_seed(D_BLK, [], transport_state(0, 0, 0, []), bad=3),
        "net-running": restore_seed(
            D_NET, [(A_OTHER, 0, 1), (A_OTHER, 0, 0), (A_READ, 0x100 // 4, 0)],
            transport_state(net_features, running, 1,
                            [queue_state(4, 1, 0, rxd, rxa, rxu),
                             queue_state(4, 1, 0, txd, txa, txu)]), net_ram),
        "net-wrong-mtu": restore_seed(D_NET, [], transport_state(0, 0, 0, []), bad=4),
    }


TARGETS = {
    "virtq_blk": ("corpus", blk_seeds),
    "virtio_net": ("corpus-net", net_seeds),
    "http": ("corpus-http", http_seeds),
    "device_restore": ("corpus-restore", restore_seeds),
}


def main():
    args = sys.argv[1:]
    target = args.pop(0) if args and args[0] in TARGETS else "virtq_blk"
    subdir, make = TARGETS[target]
    out = args[0] if args else os.path.join(os.path.dirname(__file__), subdir)
    os.makedirs(out, exist_ok=True)
    for name, blob in make().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
