#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A minimal well-behaved vtest v2 client that "presents" a display target the
# way Mesa's flush_frontbuffer does: it uploads a pattern (TRANSFER_PUT2),
# clears its copy, reads the texture back (TRANSFER_GET2) and checks the
# pixels came back through virglrenderer. Then a partial swap, as Mesa's
# flush_frontbuffer does for a sub-box: SUB_PATTERN into SUB (x, y, w, h)
# only, read back as that box at offset y * stride + x * 4.
# Usage: present-client.py SOCKET
import mmap
import socket
import struct
import sys

W, H = 64, 32
PATTERN = 0xff112233
SUB_PATTERN = 0xff445566
SUB = (8, 4, 16, 8)


def msg(cmd, words):
    return struct.pack('<II', len(words), cmd) + b''.join(struct.pack('<I', w) for w in words)


def recv_exact(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit('server closed the connection')
        b += c
    return b


s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
name = b'present-client\0'
s.sendall(struct.pack('<II', len(name), 8) + name + msg(10, []) + msg(11, [2]))
hdr = struct.unpack('<II', recv_exact(s, 8))
assert hdr == (0, 10), hdr
hdr = struct.unpack('<III', recv_exact(s, 12))
assert hdr == (1, 11, 2), hdr
size = W * H * 4
# handle target=2D format=B8G8R8A8 bind=RENDER_TARGET|SAMPLER_VIEW|DISPLAY_TARGET
s.sendall(msg(12, [1, 2, 1, 0x2 | 0x8 | 0x80, W, H, 1, 1, 0, 0, size]))
_, fds, _, _ = socket.recv_fds(s, 1, 1)
assert len(fds) == 1
shm = mmap.mmap(fds[0], size)
shm[:] = struct.pack('<I', PATTERN) * (W * H)
s.sendall(msg(14, [1, 0, 0, 0, 0, W, H, 1, size, 0]))
s.sendall(msg(7, [0, 1]))  # a round trip: the put has been processed
assert struct.unpack('<III', recv_exact(s, 12)) == (1, 7, 0)
shm[:] = bytes(size)
s.sendall(msg(13, [1, 0, 0, 0, 0, W, H, 1, size, 0]))
s.sendall(msg(7, [0, 1]))
assert struct.unpack('<III', recv_exact(s, 12)) == (1, 7, 0)
px = struct.unpack_from('<I', shm, (H - 1) * W * 4 + (W - 1) * 4)[0]
if px != PATTERN:
    sys.exit('read back 0x%08x, want 0x%08x' % (px, PATTERN))
# The partial swap.
x, y, w, h = SUB
off = y * W * 4 + x * 4
for row in range(h):
    o = off + row * W * 4
    shm[o:o + w * 4] = struct.pack('<I', SUB_PATTERN) * w
s.sendall(msg(14, [1, 0, x, y, 0, w, h, 1, size, off]))
s.sendall(msg(7, [0, 1]))
assert struct.unpack('<III', recv_exact(s, 12)) == (1, 7, 0)
s.sendall(msg(13, [1, 0, x, y, 0, w, h, 1, size, off]))
s.sendall(msg(7, [0, 1]))
assert struct.unpack('<III', recv_exact(s, 12)) == (1, 7, 0)
s.sendall(msg(3, [1]))
s.close()
print('present-client: %dx%d round trip OK, then a %dx%d partial swap' % (W, H, w, h))
