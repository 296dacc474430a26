#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpora of fuzz-vhost-user-msg and fuzz-virtqueue
(formats in the comments at the top of those files). Run from anywhere:
    tests/vhost-user/gen-seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- virtio / vhost-user constants ----
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4
GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE = 15, 16, 17, 18
GET_CONFIG, SET_CONFIG, GPU_SET_SOCKET, RESET_DEVICE = 24, 25, 33, 34
GET_MAX_MEM_SLOTS, ADD_MEM_REG, REM_MEM_REG = 36, 37, 38
VERSION, NEED_REPLY = 1, 8
FEATURES = (1 << 32) | (1 << 30) | (1 << 29) | (1 << 28) | (1 << 1)
PROTOCOL = (1 << 0) | (1 << 3) | (1 << 9) | (1 << 13) | (1 << 15)
UVA = 0x7f0000000000
CMD_GET_DISPLAY_INFO, CMD_RESOURCE_CREATE_2D = 0x100, 0x101


def msg(req, payload=b"", flags=VERSION | NEED_REPLY):
    return struct.pack("<III", req, flags, len(payload)) + payload


STREAM, SPLIT = 0x80, 0x40


def rec(m, n_fds=0, kinds=0, mode=0):
    return struct.pack("<BBH", n_fds | mode, kinds, len(m)) + m


def streamed(records, split_every=3):
    """The same records sent through the socket, every third one in two writes."""
    out = []
    for i, r in enumerate(records):
        mode = STREAM | (SPLIT if i % split_every == 0 else 0)
        out.append(bytes([r[0] | mode]) + r[1:])
    return out


def u64(v):
    return struct.pack("<Q", v)


def state(i, n):
    return struct.pack("<II", i, n)


class Ram:
    def __init__(self, size):
        self.b = bytearray(size)

    def put(self, off, data):
        self.b[off:off + len(data)] = data


def ring_ram(size, desc, avail, used, chains, num=16, event=None):
    """Guest RAM with a split ring holding `chains` (lists of (gpa, len, flags, next))."""
    ram = Ram(size)
    heads = []
    for i, chain in enumerate(chains):
        for j, (gpa, ln, fl, nx) in enumerate(chain["descs"]):
            ram.put(desc + 16 * chain["at"][j], struct.pack("<QIHH", gpa, ln, fl, nx))
        heads.append(chain["at"][0])
    ram.put(avail, struct.pack("<HH", 0, len(heads)))
    for i, h in enumerate(heads):
        ram.put(avail + 4 + 2 * i, struct.pack("<H", h))
    if event is not None:
        ram.put(avail + 4 + 2 * num, struct.pack("<H", event))
    return ram


def write(dirname, name, data):
    d = os.path.join(HERE, "corpus", dirname)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gpu_hdr(cmd):
    return struct.pack("<IIQII", cmd, 0, 0, 0, 0)


def msg_seeds():
    # Guest RAM: ring at 0x1000/0x2000/0x3000 (16 entries), two requests.
    chains = [
        {"at": [0, 1], "descs": [(0x4000, 24, F_NEXT, 1), (0x5000, 408, F_WRITE, 0)]},
        {"at": [2, 3], "descs": [(0x4100, 40, F_NEXT, 3), (0x5200, 24, F_WRITE, 0)]},
    ]
    ram = ring_ram(0x6000, 0x1000, 0x2000, 0x3000, chains)
    ram.put(0x4000, gpu_hdr(CMD_GET_DISPLAY_INFO))
    ram.put(0x4100, gpu_hdr(CMD_RESOURCE_CREATE_2D) + struct.pack("<IIII", 1, 2, 64, 64))
    region = struct.pack("<QQQQ", 0, 0x10000, UVA, 0)
    addr = struct.pack("<IIQQQQ", 0, 0, UVA + 0x1000, UVA + 0x3000, UVA + 0x2000, 0)
    handshake = [
        rec(msg(GET_FEATURES, flags=VERSION)),
        rec(msg(GET_PROTOCOL_FEATURES, flags=VERSION)),
        rec(msg(SET_PROTOCOL_FEATURES, u64(PROTOCOL), flags=VERSION)),
        rec(msg(GET_QUEUE_NUM, flags=VERSION)),
        rec(msg(GET_MAX_MEM_SLOTS, flags=VERSION)),
        rec(msg(SET_OWNER)),
        rec(msg(SET_VRING_CALL, u64(0)), 1, 0),
        rec(msg(GET_CONFIG, struct.pack("<III", 0, 16, 0) + bytes(16), flags=VERSION)),
        rec(msg(SET_FEATURES, u64(FEATURES))),
        rec(msg(SET_MEM_TABLE, struct.pack("<II", 1, 0) + region), 1, 1),
        rec(msg(SET_VRING_NUM, state(0, 16))),
        rec(msg(SET_VRING_BASE, state(0, 0))),
        rec(msg(SET_VRING_ADDR, addr)),
        rec(msg(SET_VRING_KICK, u64(0)), 1, 0),
        rec(msg(SET_VRING_CALL, u64(0)), 1, 0),
        rec(msg(SET_VRING_ERR, u64(0)), 1, 0),
        rec(msg(SET_VRING_ENABLE, state(0, 1))),
    ]
    tail = [
        rec(msg(SET_CONFIG, struct.pack("<III", 0, 16, 0) + struct.pack("<IIII", 0, 1, 1, 0))),
        rec(msg(GET_VRING_BASE, state(0, 0), flags=VERSION)),
        rec(msg(SET_VRING_BASE, state(0, 0))),
        rec(msg(GPU_SET_SOCKET), 1, 0),
        rec(msg(RESET_DEVICE)),
    ]
    data = bytes(ram.b)
    write("fuzz-vhost-user-msg", "handshake-and-requests",
          struct.pack("<H", len(data)) + data + b"".join(handshake + tail))
    write("fuzz-vhost-user-msg", "stream-handshake",
          struct.pack("<H", len(data)) + data + b"".join(streamed(handshake + tail)))

    # Memory slots: add, use, remove.
    slots = [
        rec(msg(SET_PROTOCOL_FEATURES, u64(PROTOCOL), flags=VERSION)),
        rec(msg(SET_FEATURES, u64(FEATURES))),
        rec(msg(ADD_MEM_REG, u64(0) + region), 1, 1),
        rec(msg(ADD_MEM_REG, u64(0) + struct.pack("<QQQQ", 1 << 32, 0x8000, UVA + 0x100000, 0x8000)), 1, 1),
        rec(msg(SET_VRING_NUM, state(0, 16))),
        rec(msg(SET_VRING_ADDR, addr)),
        rec(msg(SET_VRING_KICK, u64(0)), 1, 0),
        rec(msg(SET_VRING_ENABLE, state(0, 1))),
        rec(msg(REM_MEM_REG, u64(0) + region)),
        rec(msg(RESET_OWNER)),
    ]
    write("fuzz-vhost-user-msg", "mem-slots",
          struct.pack("<H", len(data)) + data + b"".join(slots))

    # Hostile: a looping chain, polling mode, junk requests.
    bad = ring_ram(0x4000, 0x1000, 0x2000, 0x3000, [
        {"at": [0, 1], "descs": [(0x100, 8, F_NEXT, 1), (0x100, 8, F_NEXT, 0)]},
        {"at": [5], "descs": [(0xfffffffffffffff0, 64, 0, 0)]},
    ])
    hostile = handshake[:12] + [
        rec(msg(SET_VRING_ADDR, addr)),
        rec(msg(SET_VRING_KICK, u64(0x100))),
        rec(msg(SET_VRING_ENABLE, state(0, 1))),
        rec(msg(99, u64(7))),
        rec(msg(SET_VRING_NUM, state(3, 100))),
        rec(msg(SET_MEM_TABLE, struct.pack("<II", 9, 0) + region), 2, 3),
        rec(msg(GET_FEATURES, flags=2)),
    ]
    bdata = bytes(bad.b)
    write("fuzz-vhost-user-msg", "hostile", struct.pack("<H", len(bdata)) + bdata + b"".join(hostile))


def vq_seeds():
    def seed(num_log2, flags, base, reply, ram):
        return struct.pack("<BBHH", num_log2, flags, base, reply) + bytes(ram.b)

    # A good two-descriptor chain and one straddling regions 0/1.
    r = ring_ram(0x4000, 0x0, 0x1000, 0x1800, [
        {"at": [0, 1], "descs": [(0x2000, 24, F_NEXT, 1), (0x2100, 64, F_WRITE, 0)]},
        {"at": [2, 3], "descs": [(0x3ff0, 32, F_NEXT, 3), ((1 << 32) + 16, 64, F_WRITE, 0)]},
    ])
    write("fuzz-virtqueue", "good", seed(4, 3, 0, 24, r))
    # Indirect table at 0x2800.
    r = ring_ram(0x4000, 0x0, 0x1000, 0x1800, [
        {"at": [0], "descs": [(0x2800, 32, F_INDIRECT, 0)]},
    ], event=0)
    r.put(0x2800, struct.pack("<QIHH", 0x2000, 24, F_NEXT, 1) + struct.pack("<QIHH", 0x2100, 64, F_WRITE, 0))
    write("fuzz-virtqueue", "indirect", seed(4, 3, 0, 64, r))
    # A loop, then a head out of range.
    r = ring_ram(0x4000, 0x0, 0x1000, 0x1800, [
        {"at": [0, 1], "descs": [(0x2000, 8, F_NEXT, 1), (0x2000, 8, F_NEXT, 0)]},
        {"at": [40], "descs": []},
    ])
    write("fuzz-virtqueue", "loop", seed(4, 0, 0, 0, r))


if __name__ == "__main__":
    msg_seeds()
    vq_seeds()
