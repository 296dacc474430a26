#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A logging vtest proxy: records the virgl command streams a real Mesa
virpipe client sends, for tests/virgl-cs/data/.

Listens on LISTEN, forwards every connection to the vtest server on SERVER
(virgl_test_server --socket-path SERVER), and writes each SUBMIT_CMD payload
to OUTDIR/<conn>-<seq>.cs (raw little-endian dwords) with the client's live
resource handles at that point in OUTDIR/<conn>-<seq>.handles (one a line).
File descriptors the server passes (shared-memory backings, protocol 2) are
forwarded on the byte the server sent them with.

Usage: capture.py LISTEN SERVER OUTDIR  (runs until killed)
Driven by capture.sh; not part of the test suite."""
import array
import os
import socket
import struct
import sys
import threading

VCMD_RESOURCE_CREATE = 2
VCMD_RESOURCE_UNREF = 3
VCMD_TRANSFER_GET = 4
VCMD_TRANSFER_PUT = 5
VCMD_SUBMIT_CMD = 6
VCMD_CREATE_RENDERER = 8
VCMD_RESOURCE_CREATE2 = 12

FDS_MAX = 8


def recv_with_fds(sock):
    fds = array.array("i")
    data, anc, _flags, _addr = sock.recvmsg(65536, socket.CMSG_SPACE(FDS_MAX * fds.itemsize))
    for level, typ, cdata in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(cdata[: len(cdata) - (len(cdata) % fds.itemsize)])
    return data, list(fds)


def pump_s2c(server, client):
    try:
        while True:
            data, fds = recv_with_fds(server)
            if not data:
                break
            if fds:
                # The kernel ends a read after the message that carried
                # fds: they belong to its last byte (vtest_send_fd sends 1).
                if len(data) > 1:
                    client.sendall(data[:-1])
                client.sendmsg([data[-1:]], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
                for fd in fds:
                    os.close(fd)
            else:
                client.sendall(data)
    except OSError:
        pass
    finally:
        try:
            client.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Conn:
    def __init__(self, outdir, conn_id):
        self.outdir = outdir
        self.id = conn_id
        self.buf = b""
        self.seq = 0
        self.handles = set()

    def feed(self, data):
        self.buf += data
        while len(self.buf) >= 8:
            plen, cmd = struct.unpack_from("<II", self.buf)
            if cmd in (VCMD_TRANSFER_GET, VCMD_TRANSFER_PUT):
                raise RuntimeError("protocol-0 transfers carry unframed data; not supported")
            body = plen if cmd == VCMD_CREATE_RENDERER else plen * 4
            if len(self.buf) < 8 + body:
                return
            payload = self.buf[8 : 8 + body]
            self.buf = self.buf[8 + body :]
            self.message(cmd, payload)

    def message(self, cmd, payload):
        if cmd in (VCMD_RESOURCE_CREATE, VCMD_RESOURCE_CREATE2):
            self.handles.add(struct.unpack_from("<I", payload)[0])
        elif cmd == VCMD_RESOURCE_UNREF:
            self.handles.discard(struct.unpack_from("<I", payload)[0])
        elif cmd == VCMD_SUBMIT_CMD and payload:
            base = os.path.join(self.outdir, "%03d-%05d" % (self.id, self.seq))
            self.seq += 1
            with open(base + ".cs", "wb") as f:
                f.write(payload)
            with open(base + ".handles", "w") as f:
                f.write("".join("%u\n" % h for h in sorted(self.handles)))


def serve(client, server_path, outdir, conn_id):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.connect(server_path)
    t = threading.Thread(target=pump_s2c, args=(server, client), daemon=True)
    t.start()
    conn = Conn(outdir, conn_id)
    try:
        while True:
            data, fds = recv_with_fds(client)
            if not data:
                break
            conn.feed(data)
            if fds:
                server.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
                for fd in fds:
                    os.close(fd)
            else:
                server.sendall(data)
    except (OSError, RuntimeError) as e:
        print("capture: connection %d: %s" % (conn_id, e), file=sys.stderr)
    finally:
        try:
            server.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        t.join(timeout=10)
        server.close()
        client.close()


def main():
    listen, server_path, outdir = sys.argv[1:4]
    os.makedirs(outdir, exist_ok=True)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(listen)
    except FileNotFoundError:
        pass
    lsock.bind(listen)
    lsock.listen(8)
    conn_id = 0
    while True:
        client, _ = lsock.accept()
        threading.Thread(target=serve, args=(client, server_path, outdir, conn_id), daemon=True).start()
        conn_id += 1


if __name__ == "__main__":
    main()
