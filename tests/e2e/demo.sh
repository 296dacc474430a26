#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make demo`, headless, shortened (DEMO_SECONDS=8): two QEMU guests
# (gles-demo cluster and ivi, GL through gpu-server's virglrenderer), zones
# cockpit (cluster:0 + ivi:0, tiles) and rear-seat (ivi:1, h264). Checks
# what a person looking at the sheet would: both zones moved at a useful
# rate with no CRC mismatch and no client falling behind, the cockpit shows
# the cluster (its orange needles) left of the media panel (its pink
# buttons), the rear seat shows the movie (a picture of many colours), the
# sheet and the latency summary are there, and the demo stopped everything.
source "$(dirname "$0")/lib.sh"
e2e_init
[ -x "$E2E_BUILD/guest/gles-demo" ] || skip "gles-demo not built (needs libgbm-dev libegl-dev libgles-dev)"
/usr/bin/python3 -c 'import PIL' 2>/dev/null || skip "python3-pil not installed (tools/install-deps)"
OUT=$E2E_TMP/demo
DEMO_DIR=$OUT DEMO_SECONDS=8 DEMO_HEADLESS=1 timeout 300 "$E2E_SRC/tools/demo" >"$E2E_TMP/demo.out" 2>&1 ||
	{ cat "$E2E_TMP/demo.out" >&2; cp "$OUT"/*.log "$E2E_TMP/" 2>/dev/null || true; die "tools/demo failed"; }
cat "$E2E_TMP/demo.out"
grep -q "^demo: contact sheet: $OUT/demo.png" "$E2E_TMP/demo.out" || die "no contact sheet line"
for z in cockpit rear-seat; do
	grep -Eq "^demo: $z +[0-9]+x[0-9]+ +latency p50 [0-9.]+ ms +p99 [0-9.]+ ms" "$E2E_TMP/demo.out" ||
		die "no latency summary for $z"
done
for g in cluster ivi; do
	grep -q "gles-demo: GL_RENDERER: virgl" "$OUT/guest-$g.log" || die "guest $g does not render through virgl"
done
[ "$(grep -c 'gles-demo: .* connector .* mode ' "$OUT/guest-ivi.log")" = 2 ] || die "ivi did not light both outputs"
grep -q "mode 1280x720 " "$OUT/guest-cluster.log" || die "cluster was not offered its layer's 1280x720"
grep -q "mode 640x720 " "$OUT/guest-ivi.log" && grep -q "mode 1280x800 " "$OUT/guest-ivi.log" ||
	die "ivi was not offered 640x720 and 1280x800"
# Nothing left running: no QEMU, server or client of this demo.
sleep 0.5
! pgrep -f "$OUT/" >/dev/null || die "the demo left processes behind: $(pgrep -af "$OUT/")"

/usr/bin/python3 - "$OUT" "$E2E_SRC/tools" <<'PY' || die "demo output check failed"
import json, re, sys
sys.path.insert(0, sys.argv[2])
import zonal_image
out = sys.argv[1]

def stats(z, suffix=""):
	return json.load(open("%s/stats-%s%s.json" % (out, z, suffix)))

for z, min_fps in (("cockpit", 4), ("rear-seat", 2)):
	s0, s1 = stats(z, ".start"), stats(z)
	fps = (s1["frames_presented"] - s0["frames_presented"]) / 8.0
	print("%s: %.1f fps over the window, %d presented, %d dropped" % (z, fps, s1["frames_presented"], s1["frames_dropped"]))
	assert s1["crc_mismatches"] == 0, (z, "crc", s1["crc_mismatches"])
	assert fps >= min_fps, (z, "fps", fps)
	assert s1["frames_dropped"] <= s1["frames_presented"] // 10, (z, "dropped", s1["frames_dropped"])

# A client that cannot keep up falls back to key frames: none may have.
log = open(out + "/gpu-server.log").read()
for z in ("cockpit", "rear-seat"):
	m = re.search(r"zone %s: \d+ frames .* (\d+) client queue drops" % z, log)
	assert m, "no final stats line for zone " + z
	assert int(m.group(1)) <= 2, (z, "client queue drops", m.group(1))

def near(p, c, tol=24):
	return all(abs(a - b) <= tol for a, b in zip(p, c))

def count(img, x0, x1, colour):
	n = 0
	for y in range(0, img.height, 2):
		row = img.rows[y]
		for x in range(x0, x1, 2):
			if near(row[3 * x:3 * x + 3], colour):
				n += 1
	return n

cockpit = zonal_image.read_png(open(out + "/cockpit/last.png", "rb").read())
assert (cockpit.width, cockpit.height) == (1920, 720), (cockpit.width, cockpit.height)
needle = count(cockpit, 0, 1280, (255, 82, 20))
pink_left, pink_right = count(cockpit, 0, 1280, (242, 102, 153)), count(cockpit, 1280, 1920, (242, 102, 153))
print("cockpit: needle pixels %d in the cluster, pink %d in the cluster and %d in the media panel" % (needle, pink_left, pink_right))
assert needle >= 100, "no cluster needles left of x=1280"
assert pink_right >= 200 and pink_left == 0, "the media panel is not at x >= 1280"

rear = zonal_image.read_png(open(out + "/rear-seat/last.png", "rb").read())
assert (rear.width, rear.height) == (1280, 800), (rear.width, rear.height)
colours = set()
for y in range(0, 680, 8):
	row = rear.rows[y]
	for x in range(0, 1280, 8):
		colours.add(bytes(row[3 * x:3 * x + 3]))
print("rear-seat: %d distinct colours in the picture" % len(colours))
assert len(colours) >= 500, "the rear seat shows no movie"

sheet = zonal_image.read_png(open(out + "/demo.png", "rb").read())
assert sheet.width > 1400 and sheet.height > 400, (sheet.width, sheet.height)
PY
echo "PASS"
