#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Hostile vtest clients against a live server: each must be disconnected
# without hurting the server. Usage: hostile-client.py SOCKET
import socket
import struct
import sys

path = sys.argv[1]


def msg(cmd, words):
    return struct.pack('<II', len(words), cmd) + b''.join(struct.pack('<I', w & 0xffffffff) for w in words)


def hello(name=b'hostile\0'):
    return struct.pack('<II', len(name), 8) + name + msg(11, [2])


cases = [
    b'\xff' * 64,                                       # garbage header
    struct.pack('<II', 0xffffffff, 6),                  # huge SUBMIT_CMD
    msg(12, [1, 2, 1, 0x80, 16, 16, 1, 1, 0, 0, 1024]),  # resource before CREATE_RENDERER
    hello() + msg(12, [1, 2, 1, 0x80, 16, 16, 1, 1, 0, 0, 0xffffffff]),  # oversized backing
    hello() + msg(13, [99, 0, 0, 0, 0, 16, 16, 1, 1024, 0]),  # transfer on unknown handle
    hello() + msg(12, [5, 2, 1, 0x80, 16, 16, 1, 1, 0, 0, 1024])
            + msg(13, [5, 0, 0, 0, 0, 16, 16, 1, 1024, 0xfffffff0]),  # offset past the shm
    hello() + msg(6, [0xdeadbeef] * 64) + msg(7, [0, 1]),  # garbage command stream, then wait
    hello() + struct.pack('<II', 3, 12),                 # truncated message, then hang up
    struct.pack('<II', 0, 8),                            # empty process name
]
for i, data in enumerate(cases):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()
print('hostile clients: %d sent' % len(cases))
