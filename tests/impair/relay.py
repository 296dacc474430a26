#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# An impairment relay between gpu-server and one zone-client, for transport
# tests: a small application-level gateway, so neither end needs to know.
#
#   zone-client ──TCP──► relay LISTEN ──TCP──► gpu-server SERVER
#               ◄─RTP── relay (impairs) ◄─RTP──
#               ──RTCP─► relay ──RTCP────────►
#
# It forwards the control connection, rewriting HELLO's media_port to its own
# server-facing UDP port, and on WELCOME binds the server's media port on
# LISTEN's address (use another loopback address for the server, e.g.
# 127.0.0.2), so the client's UDP socket, connected to "the server", talks to
# the relay. Media from the server is impaired, then forwarded; RTCP from the
# client is forwarded as it is (--impair-rtcp impairs it too).
#
# Impairments (each a probability per datagram, deterministic by --seed),
# active from --start seconds after the first media datagram for --duration
# seconds (default: forever):
#   --loss P [--burst N]  drop (N datagrams in a row once a loss starts)
#   --reorder P           hold a datagram back behind the next one
#   --dup P               send a datagram twice
#   --flip P              flip one random bit
#   --truncate P          cut a datagram short (to a random length)
#   --oversize P          append junk up to a 9000-byte datagram
#   --blackout            drop everything while active
# On SIGTERM/SIGINT it writes --summary FILE (JSON: counts, and t_start_ns /
# t_end_ns, the CLOCK_MONOTONIC times the impairment began and ended) and exits.
import argparse
import json
import random
import selectors
import signal
import socket
import struct
import sys
import time

HDR = 8
HELLO, WELCOME = 1, 2


def now_ns():
	return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def hostport(s):
	h, p = s.rsplit(':', 1)
	return h, int(p)


class Relay:
	def __init__(self, a):
		self.a = a
		self.rng = random.Random(a.seed)
		self.sel = selectors.DefaultSelector()
		self.listen = socket.create_server(hostport(a.listen))
		self.listen_host = hostport(a.listen)[0]
		self.server = hostport(a.server)
		self.sel.register(self.listen, selectors.EVENT_READ, 'accept')
		# server-facing UDP: the server sends media here, we send RTCP from here
		self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		self.up.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
		self.up.bind((self.listen_host, 0))
		# the DSCP of what the server sends, as the IP header carries it
		self.up.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
		self.dscp_seen = set()
		self.sel.register(self.up, selectors.EVENT_READ, 'up')
		self.down = None          # client-facing UDP, bound to the server's media port
		self.client_media = None  # (host, port) of the client's UDP socket
		self.server_media = None
		self.c2s = self.s2c = None
		self.bufs = {}
		self.t_first = None
		self.t_start_ns = self.t_end_ns = 0
		self.burst_left = 0
		self.held = None          # (datagram, deadline) for reordering
		self.n = {k: 0 for k in ('media_in', 'media_out', 'rtcp', 'lost', 'reordered',
			'duplicated', 'flipped', 'truncated', 'oversized', 'blacked_out')}

	def active(self):
		if self.t_first is None:
			return False
		t = time.monotonic() - self.t_first
		on = t >= self.a.start and (self.a.duration is None or t < self.a.start + self.a.duration)
		if on and not self.t_start_ns:
			self.t_start_ns = now_ns()
		if not on and self.t_start_ns and not self.t_end_ns:
			self.t_end_ns = now_ns()
		return on

	def accept(self):
		c, _ = self.listen.accept()
		s = socket.create_connection(self.server)
		self.c2s, self.s2c = c, s
		self.bufs = {c: b'', s: b''}
		self.sel.register(c, selectors.EVENT_READ, 'tcp')
		self.sel.register(s, selectors.EVENT_READ, 'tcp')

	def tcp(self, sock):
		data = sock.recv(65536)
		peer = self.s2c if sock is self.c2s else self.c2s
		if not data:
			for x in (self.c2s, self.s2c):
				self.sel.unregister(x)
				x.close()
			self.c2s = self.s2c = None
			return
		buf = self.bufs[sock] + data
		out = b''
		# whole control messages only, so a field is never split
		while len(buf) >= HDR:
			length, mtype, _ver = struct.unpack_from('<IHH', buf)
			if len(buf) < HDR + length:
				break
			m = bytearray(buf[:HDR + length])
			buf = buf[HDR + length:]
			if sock is self.c2s and mtype == HELLO and length >= 24:
				self.client_media = (sock.getpeername()[0], struct.unpack_from('<H', m, HDR + 20)[0])
				struct.pack_into('<H', m, HDR + 20, self.up.getsockname()[1])
			elif sock is self.s2c and mtype == WELCOME and length >= 24:
				port = struct.unpack_from('<H', m, HDR + 20)[0]
				self.server_media = (self.server[0], port)
				self.down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
				self.down.bind((self.listen_host, port))
				self.sel.register(self.down, selectors.EVENT_READ, 'down')
			out += m
		self.bufs[sock] = buf
		peer.sendall(out)

	def send_down(self, d):
		if self.down and self.client_media:
			try:
				self.down.sendto(d, self.client_media)
				self.n['media_out'] += 1
			except OSError:
				pass

	def impair(self, d, send):
		r = self.rng.random
		if self.a.blackout:
			self.n['blacked_out'] += 1
			return
		if self.burst_left > 0:
			self.burst_left -= 1
			self.n['lost'] += 1
			return
		if r() < self.a.loss:
			self.burst_left = self.a.burst - 1
			self.n['lost'] += 1
			return
		d = bytearray(d)
		if r() < self.a.flip and d:
			i = self.rng.randrange(len(d) * 8)
			d[i // 8] ^= 1 << (i % 8)
			self.n['flipped'] += 1
		if r() < self.a.truncate and len(d) > 1:
			d = d[:self.rng.randrange(1, len(d))]
			self.n['truncated'] += 1
		if r() < self.a.oversize:
			d += bytes(self.rng.randrange(256) for _ in range(max(0, 9000 - len(d))))
			self.n['oversized'] += 1
		if r() < self.a.dup:
			send(bytes(d))
			self.n['duplicated'] += 1
		if r() < self.a.reorder and self.held is None:
			self.held = (bytes(d), time.monotonic() + 0.02)
			self.n['reordered'] += 1
			return
		send(bytes(d))
		self.flush_held()

	def flush_held(self):
		if self.held:
			d, _ = self.held
			self.held = None
			self.send_down(d)

	def up_in(self):
		d, anc, _flags, src = self.up.recvmsg(65536, 64)
		if src != self.server_media:
			return
		for level, typ, data in anc:
			if level == socket.IPPROTO_IP and typ == socket.IP_TOS and data:
				self.dscp_seen.add(data[0] >> 2)
		self.n['media_in'] += 1
		if self.t_first is None:
			self.t_first = time.monotonic()
		if self.active():
			self.impair(d, self.send_down)
		else:
			self.flush_held()
			self.send_down(d)

	def down_in(self):
		d, src = self.down.recvfrom(65536)
		if self.server_media is None:
			return
		self.n['rtcp'] += 1
		if self.a.impair_rtcp and self.active():
			self.impair(d, lambda x: self.up.sendto(x, self.server_media))
		else:
			self.up.sendto(d, self.server_media)

	def run(self):
		self.stop = False
		while not self.stop:
			timeout = 0.005 if self.held else 0.05
			for key, _ in self.sel.select(timeout):
				what = key.data
				if what == 'accept':
					self.accept()
				elif what == 'tcp':
					if key.fileobj in self.bufs:
						self.tcp(key.fileobj)
				elif what == 'up':
					self.up_in()
				elif what == 'down':
					self.down_in()
			if self.held and time.monotonic() > self.held[1]:
				self.flush_held()
			self.active()  # notes when the impairment ends, even when idle

	def summary(self):
		s = dict(self.n)
		s['t_start_ns'] = self.t_start_ns
		s['t_end_ns'] = self.t_end_ns
		s['dscp_seen'] = sorted(self.dscp_seen)
		return s


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument('--listen', required=True, help='HOST:PORT for the client')
	ap.add_argument('--server', required=True, help="gpu-server's control HOST:PORT")
	ap.add_argument('--seed', type=int, default=1)
	ap.add_argument('--start', type=float, default=0.0)
	ap.add_argument('--duration', type=float)
	ap.add_argument('--loss', type=float, default=0.0)
	ap.add_argument('--burst', type=int, default=1)
	ap.add_argument('--reorder', type=float, default=0.0)
	ap.add_argument('--dup', type=float, default=0.0)
	ap.add_argument('--flip', type=float, default=0.0)
	ap.add_argument('--truncate', type=float, default=0.0)
	ap.add_argument('--oversize', type=float, default=0.0)
	ap.add_argument('--blackout', action='store_true')
	ap.add_argument('--impair-rtcp', action='store_true')
	ap.add_argument('--summary')
	a = ap.parse_args()
	r = Relay(a)

	def stop(*_):
		r.stop = True
	signal.signal(signal.SIGTERM, stop)
	signal.signal(signal.SIGINT, stop)
	print('relay: listening on %s' % a.listen, flush=True)
	r.run()
	s = r.summary()
	if a.summary:
		json.dump(s, open(a.summary, 'w'))
	print('relay: ' + json.dumps(s), flush=True)


if __name__ == '__main__':
	sys.exit(main())
