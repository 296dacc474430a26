#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the seed corpus of fuzz-vgpu-cmd (see the record format there):
one seed per command type and a few whole sessions. Run from anywhere;
the seeds are committed, this only regenerates them."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'fuzz-vgpu-cmd')

RAM0, RAM1 = 0x10000, 0x20000
FENCE = 1

GET_DISPLAY_INFO = 0x100
CREATE_2D, UNREF, SET_SCANOUT, FLUSH, TRANSFER, ATTACH, DETACH = range(0x101, 0x108)
GET_CAPSET_INFO, GET_CAPSET, GET_EDID = 0x108, 0x109, 0x10a
CTX_CREATE, SUBMIT_3D = 0x200, 0x207
UPDATE_CURSOR, MOVE_CURSOR = 0x300, 0x301
XRGB, ARGB, ABGR = 2, 3, 121


def hdr(t, flags=0, fence=0, ctx=0, ring=0):
    return struct.pack('<IIQIB3x', t, flags, fence, ctx, ring)


def rec(op, payload, resp_sel=0):
    return struct.pack('<BH', op | resp_sel << 4, len(payload)) + payload


def ctrl(req, split=255, resp_sel=0):
    return rec(0, bytes([split]) + req, resp_sel)


def cursor(req, split=255, resp_sel=0):
    return rec(1, bytes([split]) + req, resp_sel)


def create(rid, w, h, fmt=XRGB, **kw):
    return ctrl(hdr(CREATE_2D, **kw) + struct.pack('<IIII', rid, fmt, w, h))


def attach(rid, entries, **kw):
    body = struct.pack('<II', rid, len(entries))
    body += b''.join(struct.pack('<QI4x', a, l) for a, l in entries)
    return ctrl(hdr(ATTACH, **kw) + body, split=24)


def transfer(rid, x, y, w, h, off, **kw):
    return ctrl(hdr(TRANSFER, **kw) + struct.pack('<IIIIQI4x', x, y, w, h, off, rid))


def set_scanout(sid, rid, x, y, w, h, **kw):
    return ctrl(hdr(SET_SCANOUT, **kw) + struct.pack('<IIIIII', x, y, w, h, sid, rid))


def flush(rid, x, y, w, h, **kw):
    return ctrl(hdr(FLUSH, **kw) + struct.pack('<IIIII4x', x, y, w, h, rid))


def unref(rid):
    return ctrl(hdr(UNREF) + struct.pack('<I4x', rid))


def detach(rid):
    return ctrl(hdr(DETACH) + struct.pack('<I4x', rid))


def cur(t, sid, x, y, rid=0, hx=0, hy=0, resp_sel=0, **kw):
    return cursor(hdr(t, **kw) + struct.pack('<IIII', sid, x, y, 0) +
                  struct.pack('<III4x', rid, hx, hy), resp_sel=resp_sel)


# Typed records (op 7 ctrl, 8 cursor): command index into the fuzzer's
# table, flags byte, then the body without its header.
T_INFO, T_CREATE, T_UNREF, T_SCANOUT, T_FLUSH, T_XFER, T_ATTACH, T_DETACH, T_EDID, \
    T_UPDATE, T_MOVE, T_CTX, T_CAPSET = range(13)


def typed(idx, body, flags=0, q=7, resp_sel=0):
    return bytes([q | resp_sel << 4, idx, flags]) + body


typed_session = (
    typed(T_INFO, b'') +
    typed(T_EDID, struct.pack('<I4x', 0)) +
    typed(T_CREATE, struct.pack('<IIII', 1, XRGB, 64, 64)) +
    typed(T_ATTACH, struct.pack('<II', 1, 2) +
          struct.pack('<QI4x', RAM1 - 8192, 8192) + struct.pack('<QI4x', RAM1, 8192)) +
    typed(T_XFER, struct.pack('<IIIIQI4x', 0, 0, 64, 64, 0, 1), flags=1) +
    typed(T_XFER, struct.pack('<IIIIQI4x', 8, 8, 16, 16, 8 * 256 + 32, 1)) +
    typed(T_SCANOUT, struct.pack('<IIIIII', 0, 0, 64, 64, 0, 1)) +
    typed(T_FLUSH, struct.pack('<IIIII4x', 8, 8, 16, 16, 1)) +
    typed(T_UPDATE, struct.pack('<IIII', 0, 5, 5, 0) + struct.pack('<III4x', 1, 1, 1), q=8) +
    typed(T_MOVE, struct.pack('<IIII', 0, 6, 6, 0) + struct.pack('<III4x', 0, 0, 0), q=8) +
    typed(T_DETACH, struct.pack('<I4x', 1)) +
    typed(T_UNREF, struct.pack('<I4x', 1)) +
    typed(T_CTX, struct.pack('<II', 4, 0) + b'ctx'.ljust(64, b'\0')) +
    typed(T_CAPSET, struct.pack('<II', 0, 0), resp_sel=3)
)

seeds = {
    'typed-session': typed_session,
    'display-info': ctrl(hdr(GET_DISPLAY_INFO)),
    'display-info-short-resp': ctrl(hdr(GET_DISPLAY_INFO), resp_sel=6),
    'edid': ctrl(hdr(GET_EDID) + struct.pack('<I4x', 1)) +
            ctrl(hdr(GET_EDID) + struct.pack('<I4x', 3), resp_sel=9),
    'create-unref': create(1, 64, 32) + unref(1) + unref(1),
    'attach-detach': create(1, 32, 32) + attach(1, [(RAM0, 4096)]) + detach(1) + detach(1),
    'frame': (create(1, 64, 48) +
              attach(1, [(RAM1 - 5000, 9000), (RAM0 + 0x1000, 64 * 48 * 4 - 9000)]) +
              transfer(1, 0, 0, 64, 48, 0) +
              set_scanout(0, 1, 0, 0, 64, 48) +
              transfer(1, 3, 5, 7, 4, 5 * 256 + 12) +
              flush(1, 3, 5, 7, 4) +
              set_scanout(0, 0, 0, 0, 0, 0) + unref(1)),
    'multihead': (create(2, 128, 64, ABGR) + attach(2, [(RAM0, 128 * 64 * 4)]) +
                  set_scanout(0, 2, 0, 0, 64, 64) + set_scanout(1, 2, 64, 0, 64, 64) +
                  transfer(2, 60, 0, 8, 8, 60 * 4, flags=FENCE, fence=5) +
                  flush(2, 60, 0, 8, 8) + unref(2)),
    'cursor': (create(3, 64, 64, ARGB) + attach(3, [(RAM0, 16384)]) +
               transfer(3, 0, 0, 64, 64, 0, flags=FENCE, fence=1) +
               cur(UPDATE_CURSOR, 0, 10, 20, 3, 4, 4) +
               cur(MOVE_CURSOR, 0, 30, 40, resp_sel=1) +
               cur(UPDATE_CURSOR, 1, 0, 0, 0, flags=FENCE, fence=9)),
    'mem-events': (create(4, 16, 16) + attach(4, [(RAM1 + 0x100, 1024)]) +
                   transfer(4, 0, 0, 16, 16, 0) +
                   rec(2, b'\x00') + transfer(4, 0, 0, 16, 16, 0) +
                   rec(2, b'\x01\x01') + transfer(4, 0, 0, 16, 16, 0) +
                   rec(2, b'\x02') + transfer(4, 0, 0, 16, 16, 0) +
                   rec(2, b'\x03') + transfer(4, 0, 0, 16, 16, 0) +
                   rec(2, b'\x04\x01') + transfer(4, 0, 0, 16, 16, 0)),
    'connector': rec(3, b'\x01\x01') + rec(5, b'\x01') + rec(3, b'\x00\x00') + ctrl(hdr(GET_DISPLAY_INFO)),
    'reset': (create(5, 8, 8) + attach(5, [(RAM0, 256)]) + set_scanout(2, 5, 0, 0, 8, 8) +
              rec(4, b'') + create(5, 8, 8)),
    'ram-write': (create(6, 4, 4) + attach(6, [(RAM0 + 0x40, 64)]) +
                  rec(6, struct.pack('<HB', 0x40, 0) + bytes(range(64))) +
                  transfer(6, 1, 1, 2, 2, 20) + set_scanout(0, 6, 1, 1, 2, 2)),
    'unsupported': (ctrl(hdr(CTX_CREATE) + struct.pack('<II', 4, 0) + b'test'.ljust(64, b'\0')) +
                    ctrl(hdr(SUBMIT_3D) + struct.pack('<II', 0, 0)) +
                    ctrl(hdr(GET_CAPSET_INFO) + struct.pack('<II', 0, 0)) +
                    cursor(hdr(GET_DISPLAY_INFO))),
    'short': (ctrl(hdr(CREATE_2D) + b'\x01\x00', split=3) + ctrl(b'\x00\x01') +
              ctrl(hdr(ATTACH) + struct.pack('<II', 1, 3) + b'\x00' * 20)),
    'fence-ring': ctrl(hdr(GET_DISPLAY_INFO, flags=3, fence=0xdeadbeef, ctx=2, ring=5)),
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)
print(f'{len(seeds)} seeds in {OUT}')
