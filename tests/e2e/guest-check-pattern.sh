#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/check-pattern against synthetic images: the exact pattern passes, in
# PPM and in PNGs of every colour type and filter; any deviation fails. No
# QEMU, no network, a few seconds: fit for the 'unit' suite.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tool=$(cd "$here/../.." && pwd)/tools/check-pattern
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zonal-check-pattern.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

python3 - "$tool" "$tmp" <<'EOF'
import struct
import subprocess
import sys
import zlib

tool, tmp = sys.argv[1:3]
COLOURS = [(255, 255, 255), (255, 255, 0), (0, 255, 255), (0, 255, 0),
	(255, 0, 255), (255, 0, 0), (0, 0, 255), (0, 0, 0)]
failures = 0


def pattern(w, h, x0=0, pw=None, bg=(10, 20, 30), squares=()):
	"""Rows of RGB tuples: the pattern in columns [x0, x0+pw), bg elsewhere."""
	pw = w - x0 if pw is None else pw
	img = [[bg] * w for _ in range(h)]
	for i, c in enumerate(COLOURS):
		for y in range(h):
			for x in range(x0 + i * pw // 8, x0 + (i + 1) * pw // 8):
				img[y][x] = c
	for sx, sy in squares:
		for y in range(sy, sy + 16):
			for x in range(sx, sx + 16):
				img[y][x] = (255, 255, 255)
	return img


def write_ppm(path, img, maxval=255):
	h, w = len(img), len(img[0])
	with open(path, "wb") as f:
		f.write(b"P6\n# comment\n%d %d\n%d\n" % (w, h, maxval))
		for row in img:
			for px in row:
				if maxval > 255:
					f.write(b"".join(struct.pack(">H", v * maxval // 255) for v in px))
				else:
					f.write(bytes(px))


def paeth(a, b, c):
	p = a + b - c
	pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
	return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def write_png(path, img, ctype=2, depth=8):
	"""PNG with a different filter on each row (0..4 in turn)."""
	h, w = len(img), len(img[0])
	palette = []
	rows = []
	for row in img:
		b = bytearray()
		for px in row:
			if ctype == 3:
				if px not in palette:
					palette.append(px)
				b.append(palette.index(px))
				continue
			vals = list(px) + ([200] if ctype == 6 else [])
			for v in vals:
				b += bytes([v, v]) if depth == 16 else bytes([v])
		rows.append(b)
	bpp = max(1, {2: 3, 3: 1, 6: 4}[ctype] * depth // 8)
	raw = bytearray()
	prev = bytearray(len(rows[0]))
	for y, cur in enumerate(rows):
		ft = y % 5
		out = bytearray(len(cur))
		for i in range(len(cur)):
			a = cur[i - bpp] if i >= bpp else 0
			c = prev[i - bpp] if i >= bpp else 0
			pred = (0, a, prev[i], (a + prev[i]) >> 1, paeth(a, prev[i], c))[ft]
			out[i] = (cur[i] - pred) & 0xff
		raw += bytes([ft]) + out
		prev = cur

	def chunk(t, data):
		return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data))
	png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
	if ctype == 3:
		png += chunk(b"PLTE", b"".join(bytes(p) for p in palette))
	png += chunk(b"IDAT", zlib.compress(bytes(raw)))
	png += chunk(b"IEND", b"")
	with open(path, "wb") as f:
		f.write(png)


def expect(name, path, want_rc, *args, out_has=None):
	global failures
	r = subprocess.run([tool, path, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
	ok = r.returncode == want_rc and (out_has is None or out_has in r.stdout)
	print(f"{'ok  ' if ok else 'FAIL'} {name}: rc {r.returncode} (want {want_rc})")
	if not ok:
		print("     " + r.stdout.strip().replace("\n", "\n     "))
		failures += 1


W, H = 203, 37  # odd sizes: bars of unequal integer widths
base = pattern(W, H)
sq_ok = pattern(W, H, squares=[(7 * W // 8 + 3, 5)])
write_ppm(f"{tmp}/plain.ppm", base)
expect("plain PPM", f"{tmp}/plain.ppm", 0, out_has="no square")
write_ppm(f"{tmp}/sq.ppm", sq_ok)
expect("square in black bar", f"{tmp}/sq.ppm", 0, "--require-square", out_has=f"square at ({7 * W // 8 + 3}, 5)")
expect("square required but absent", f"{tmp}/plain.ppm", 1, "--require-square")
write_ppm(f"{tmp}/ppm16.ppm", sq_ok, maxval=65535)
expect("16-bit PPM", f"{tmp}/ppm16.ppm", 0)

for ctype, depth, label in ((2, 8, "RGB"), (6, 8, "RGBA"), (2, 16, "RGB16"), (3, 8, "palette")):
	write_png(f"{tmp}/{label}.png", sq_ok, ctype, depth)
	expect(f"PNG {label}, filters 0-4", f"{tmp}/{label}.png", 0, "--require-square")

img = pattern(W, H, squares=[(7 * W // 8 - 2, 5)])  # straddles blue/black
write_ppm(f"{tmp}/straddle.ppm", img)
expect("square over the blue bar", f"{tmp}/straddle.ppm", 1)
img = pattern(W, H, squares=[(7 * W // 8 + 1, 1), (7 * W // 8 + 1, 20)])
write_ppm(f"{tmp}/two.ppm", img)
expect("two squares", f"{tmp}/two.ppm", 1)
img = pattern(W, H)
for y in range(3, 18):
	for x in range(7 * W // 8 + 2, 7 * W // 8 + 18):
		img[y][x] = (255, 255, 255)
write_ppm(f"{tmp}/rect.ppm", img)
expect("16x15 white block", f"{tmp}/rect.ppm", 1)
img = pattern(W, H)
img[36][30] = (255, 254, 0)
write_png(f"{tmp}/onebit.png", img)
expect("one yellow pixel off by one", f"{tmp}/onebit.png", 1)
img = pattern(W, H)
img[0][W - 1] = (0, 0, 1)
write_ppm(f"{tmp}/corner.ppm", img)
expect("black bar corner pixel", f"{tmp}/corner.ppm", 1)
img = pattern(W, H)
for y in range(H):  # bars shifted by one column
	img[y] = [img[y][0]] + img[y][:-1]
write_ppm(f"{tmp}/shift.ppm", img)
expect("bars shifted by one pixel", f"{tmp}/shift.ppm", 1)

# A zone with the pattern at x 120..319 and something else on its left.
img = pattern(320, 40, x0=120, pw=200, squares=[(120 + 175 + 2, 10)])
write_png(f"{tmp}/region.png", img)
expect("region", f"{tmp}/region.png", 0, "--width-offset", "120", "--width", "200")
expect("region without offsets", f"{tmp}/region.png", 1)
expect("region one column too wide", f"{tmp}/region.png", 1, "--width-offset", "119", "--width", "201")
expect("region outside image", f"{tmp}/region.png", 2, "--width-offset", "300", "--width", "200")
img = pattern(300, 60)
img[10:50] = pattern(300, 40)  # same bars; pretend rows 0-9 and 50-59 belong elsewhere
for y in list(range(10)) + list(range(50, 60)):
	img[y] = [(1, 2, 3)] * 300
write_ppm(f"{tmp}/rows.ppm", img)
expect("row region", f"{tmp}/rows.ppm", 0, "--y-offset", "10", "--height", "40")

with open(f"{tmp}/plain.ppm", "rb") as f:
	data = f.read()
with open(f"{tmp}/trunc.ppm", "wb") as f:
	f.write(data[:len(data) // 2])
expect("truncated PPM", f"{tmp}/trunc.ppm", 2)
with open(f"{tmp}/junk.bin", "wb") as f:
	f.write(b"not an image")
expect("not an image", f"{tmp}/junk.bin", 2)
expect("missing file", f"{tmp}/nonexistent.png", 2)
with open(f"{tmp}/RGB.png", "rb") as f:
	data = bytearray(f.read())
data[60] ^= 0xff  # inside the zlib stream
with open(f"{tmp}/badzlib.png", "wb") as f:
	f.write(data)
r = subprocess.run([tool, f"{tmp}/badzlib.png"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
print(f"{'ok  ' if r.returncode in (1, 2) else 'FAIL'} corrupt PNG data: rc {r.returncode}")
failures += r.returncode not in (1, 2)

sys.exit(1 if failures else 0)
EOF
echo PASS
