# SPDX-License-Identifier: MIT
"""Images for the test tools (check-pattern, compare-image): read PPM (P6)
and PNG (8/16 bit, gray, RGB, palette, with or without alpha; alpha is
dropped) into 8-bit RGB rows, and write RGB PNGs. Standard library only."""

import itertools
import struct
import zlib


class ImageError(Exception):
	pass


class Image:
	"""8-bit RGB pixels, one bytes object of width*3 per row."""

	def __init__(self, width, height, rows):
		self.width = width
		self.height = height
		self.rows = rows

	def pixel(self, x, y):
		r = self.rows[y]
		return tuple(r[3 * x:3 * x + 3])


def read_ppm(data):
	# Header: magic, width, height, maxval, separated by whitespace/comments.
	fields = []
	pos = 2
	while len(fields) < 3:
		while pos < len(data) and data[pos:pos + 1].isspace():
			pos += 1
		if data[pos:pos + 1] == b"#":
			while pos < len(data) and data[pos:pos + 1] not in (b"\n", b"\r"):
				pos += 1
			continue
		start = pos
		while pos < len(data) and data[pos:pos + 1].isdigit():
			pos += 1
		if start == pos:
			raise ImageError("bad PPM header")
		fields.append(int(data[start:pos]))
	pos += 1  # the single whitespace byte before the pixels
	w, h, maxval = fields
	if w <= 0 or h <= 0 or not 0 < maxval < 65536:
		raise ImageError(f"bad PPM size {w}x{h} maxval {maxval}")
	bpc = 1 if maxval < 256 else 2
	need = w * h * 3 * bpc
	if len(data) - pos < need:
		raise ImageError(f"PPM truncated: {len(data) - pos} of {need} pixel bytes")
	px = data[pos:pos + need]
	if bpc == 2:
		# big-endian 16-bit samples
		px = [(px[i] << 8 | px[i + 1]) for i in range(0, len(px), 2)]
	if maxval != 255:
		px = bytes((v * 255 + maxval // 2) // maxval for v in px)
	stride = w * 3
	return Image(w, h, [px[y * stride:(y + 1) * stride] for y in range(h)])


def paeth(a, b, c):
	p = a + b - c
	pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
	if pa <= pb and pa <= pc:
		return a
	return b if pb <= pc else c


def unfilter(raw, h, stride, bpp):
	rows = []
	prev = bytearray(stride)
	pos = 0
	for y in range(h):
		if pos + 1 + stride > len(raw):
			raise ImageError("PNG data truncated")
		ft = raw[pos]
		cur = bytearray(raw[pos + 1:pos + 1 + stride])
		pos += 1 + stride
		if ft == 0:
			pass
		elif ft == 1:
			# Sub: a running sum per channel
			for c in range(bpp):
				cur[c::bpp] = bytes(itertools.accumulate(cur[c::bpp], lambda a, b: (a + b) & 0xff))
		elif ft == 2:
			cur = bytearray((a + b) & 0xff for a, b in zip(cur, prev))
		elif ft == 3:
			for i in range(stride):
				left = cur[i - bpp] if i >= bpp else 0
				cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 0xff
		elif ft == 4:
			for i in range(stride):
				if i >= bpp:
					cur[i] = (cur[i] + paeth(cur[i - bpp], prev[i], prev[i - bpp])) & 0xff
				else:
					cur[i] = (cur[i] + prev[i]) & 0xff
		else:
			raise ImageError(f"bad PNG filter type {ft} in row {y}")
		rows.append(cur)
		prev = cur
	return rows


def read_png(data):
	pos = 8
	ihdr = None
	plte = None
	idat = []
	while pos + 8 <= len(data):
		length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
		body = data[pos + 8:pos + 8 + length]
		if len(body) < length:
			raise ImageError("PNG chunk truncated")
		pos += 12 + length
		if ctype == b"IHDR":
			ihdr = struct.unpack(">IIBBBBB", body[:13])
		elif ctype == b"PLTE":
			plte = body
		elif ctype == b"IDAT":
			idat.append(body)
		elif ctype == b"IEND":
			break
	if not ihdr:
		raise ImageError("PNG without IHDR")
	w, h, depth, ctype, _comp, _filt, interlace = ihdr
	if interlace:
		raise ImageError("interlaced PNG is not supported")
	channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
	if channels is None or depth not in ((8, 16) if ctype != 3 else (8,)):
		raise ImageError(f"unsupported PNG colour type {ctype} depth {depth}")
	if w <= 0 or h <= 0 or w > 1 << 16 or h > 1 << 16:
		raise ImageError(f"bad PNG size {w}x{h}")
	bpp = channels * depth // 8
	try:
		raw = zlib.decompress(b"".join(idat))
	except zlib.error as e:
		raise ImageError(f"PNG data: {e}")
	rows = unfilter(raw, h, w * bpp, bpp)
	out = []
	for r in rows:
		if depth == 16:
			r = r[0::2]  # big-endian samples: keep the high byte
		if ctype == 2:
			out.append(bytes(r))
		elif ctype == 6:
			b = bytearray(w * 3)
			b[0::3], b[1::3], b[2::3] = r[0::4], r[1::4], r[2::4]
			out.append(bytes(b))
		elif ctype in (0, 4):
			g = r[0::channels]
			b = bytearray(w * 3)
			b[0::3] = b[1::3] = b[2::3] = g
			out.append(bytes(b))
		else:
			if plte is None:
				raise ImageError("palette PNG without PLTE")
			b = bytearray()
			for i in r:
				if 3 * i + 3 > len(plte):
					raise ImageError("palette index out of range")
				b += plte[3 * i:3 * i + 3]
			out.append(bytes(b))
	return Image(w, h, out)


def read_image(path):
	try:
		with open(path, "rb") as f:
			data = f.read()
	except OSError as e:
		raise ImageError(f"{path}: {e.strerror}")
	if data.startswith(b"\x89PNG\r\n\x1a\n"):
		return read_png(data)
	if data.startswith(b"P6"):
		return read_ppm(data)
	raise ImageError(f"{path}: neither a binary PPM (P6) nor a PNG")


def write_png(path, width, height, rows):
	"""rows: height bytes objects of width*3 (8-bit RGB)."""
	def chunk(ctype, body):
		c = struct.pack(">I", len(body)) + ctype + body
		return c + struct.pack(">I", zlib.crc32(ctype + body) & 0xffffffff)
	raw = b"".join(b"\x00" + bytes(r) for r in rows)
	data = (b"\x89PNG\r\n\x1a\n" +
		chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
		chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))
	with open(path, "wb") as f:
		f.write(data)
