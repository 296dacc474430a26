#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A frame source for transport tests, without a VM: a vtest v2 client (process
# name "zone-source") that presents a WxH display target FPS times a second,
# as Mesa's swap does (TRANSFER_PUT2 of the frame, TRANSFER_GET2 back), and
# gpu-server's [guest] vtest-app=zone-source makes it a zone's layer.
# Frame k: a fixed gradient with a 32x32 block at x = 4k mod (W - 32) whose
# colour encodes k. The last frame is all FINAL_COLOUR, so a receiver can
# tell it has caught up. Prints the CLOCK_MONOTONIC time of each present in
# --log (k, t_ns).
# With --full the gradient also scrolls: every pixel changes every frame.
# Usage: zone-source.py SOCKET [--size WxH] [--fps N] [--frames N] [--log FILE] [--full]
import argparse
import mmap
import socket
import struct
import sys
import time

FINAL_COLOUR = 0xff3c5a78


def msg(cmd, words):
    return struct.pack('<II', len(words), cmd) + b''.join(struct.pack('<I', w) for w in words)


def recv_exact(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            sys.exit('zone-source: server closed the connection')
        b += c
    return b


def round_trip(s):
    s.sendall(msg(7, [0, 1]))  # BUSY_WAIT, no wait flag: a sync point
    assert struct.unpack('<III', recv_exact(s, 12)) == (1, 7, 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('socket')
    ap.add_argument('--size', default='256x128')
    ap.add_argument('--fps', type=float, default=60)
    ap.add_argument('--frames', type=int, default=120)
    ap.add_argument('--log')
    ap.add_argument('--name', default='zone-source', help='the vtest process name ([guest] vtest-app=)')
    ap.add_argument('--pause-at', type=int, default=-1, help='stop presenting after this frame...')
    ap.add_argument('--pause', type=float, default=0.0, help='...for this many seconds')
    ap.add_argument('--full', action='store_true',
                    help='every pixel changes every frame (the gradient scrolls)')
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split('x'))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(a.socket)
    name = a.name.encode() + b'\0'
    s.sendall(struct.pack('<II', len(name), 8) + name + msg(10, []) + msg(11, [2]))
    assert struct.unpack('<II', recv_exact(s, 8)) == (0, 10)
    assert struct.unpack('<III', recv_exact(s, 12)) == (1, 11, 2)
    size = w * h * 4
    # B8G8R8A8, RENDER_TARGET | SAMPLER_VIEW | DISPLAY_TARGET
    s.sendall(msg(12, [1, 2, 1, 0x2 | 0x8 | 0x80, w, h, 1, 1, 0, 0, size]))
    _, fds, _, _ = socket.recv_fds(s, 1, 1)
    shm = mmap.mmap(fds[0], size)
    background = bytearray()
    for y in range(h):
        for x in range(w):
            background += struct.pack('<I', 0xff000000 | (x * 255 // w) << 16 | (y * 255 // h) << 8 | 0x40)
    log = open(a.log, 'w') if a.log else None
    period = 1.0 / a.fps
    t_next = time.monotonic()
    for k in range(a.frames):
        last = k == a.frames - 1
        if last:
            frame = struct.pack('<I', FINAL_COLOUR) * (w * h)
        else:
            if a.full:
                o = (k * 4 * 61) % len(background)
                frame = bytearray(background[o:] + background[:o])
            else:
                frame = bytearray(background)
            bx = (4 * k) % (w - 32)
            colour = struct.pack('<I', 0xff000000 | ((k * 37) & 0xff) << 16 | ((k * 91) & 0xff) << 8 | (k & 0xff))
            for y in range(min(32, h)):
                o = (y * w + bx) * 4
                frame[o:o + 32 * 4] = colour * 32
        shm[:] = bytes(frame)
        s.sendall(msg(14, [1, 0, 0, 0, 0, w, h, 1, size, 0]))  # PUT2
        s.sendall(msg(13, [1, 0, 0, 0, 0, w, h, 1, size, 0]))  # GET2: the present
        round_trip(s)
        if log:
            log.write('%d %d\n' % (k, time.clock_gettime_ns(time.CLOCK_MONOTONIC)))
            log.flush()
        t_next += period
        if k == a.pause_at:
            t_next += a.pause
        d = t_next - time.monotonic()
        if d > 0:
            time.sleep(d)
    s.sendall(msg(3, [1]))
    s.close()


if __name__ == '__main__':
    main()
