#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One real QEMU guest runs `gles-pattern` (GBM + EGL + GLES2 through Mesa's
# virgl driver in the guest) on vhost-user-gpu → gpu-server renders its GL
# work with the shared virglrenderer and composes its scanout into a zone → zone-client
# (headless) receives, CRC-verifies and writes last.png: the 7 coloured bars
# must be exact and the black bar must show the cube (not all black).
# COMPOSE=gl|pixman|auto picks gpu-server's zone compositor ([server] compose=).
# REFERENCE_FRAME=N: the app draws frame N still (-f N), and last.png must
# match tests/reference/scene-${W}x${H}-fN.png (the reference-image suite).
source "$(dirname "$0")/lib.sh"
e2e_init
[ -x "$E2E_BUILD/guest/gles-pattern" ] || skip "gles-pattern not built (needs libgbm-dev libegl-dev libgles-dev)"
W=${W:-1024} H=${H:-600}
cat >"$E2E_TMP/zonal.ini" <<INI
[server]
control=127.0.0.1:0
compose=${COMPOSE:-auto}

[guest g0]
vhost-user=$E2E_TMP/g0.sock

[zone z]
mode=${W}x${H}@60
layer=g0:0 0,0 ${W}x${H}
INI
e2e_start_server "$E2E_TMP/zonal.ini"
e2e_read_port
if [ "${COMPOSE:-auto}" = gl ]; then
	e2e_wait_for "grep -q 'zones composed with GL' '$E2E_TMP/gpu-server.log'" 30 "GL composition"
fi
app_args="-s 5"
ref=
frames=60
if [ -n "${REFERENCE_FRAME:-}" ]; then
	app_args="$app_args -f $REFERENCE_FRAME"
	# A still changes no pixel after the first flip, so nothing more is
	# sent: the zone's key frame (the app has flipped by then) is it.
	frames=1
	ref=$E2E_SRC/tests/reference/scene-${W}x${H}-f$REFERENCE_FRAME.png
	[ -f "$ref" ] || die "no reference image $ref"
fi
e2e_start_guest g0 "$E2E_TMP/g0.sock" --app gles-pattern --app-args "$app_args"
log=$E2E_TMP/guest-g0.log
# The app logs its renderer, then the mode once the first frame is on the CRTC.
e2e_wait_for "grep -q 'gles-pattern: .* connector .* mode ' '$log' 2>/dev/null || grep -q 'exited with status' '$log' 2>/dev/null" 240 "gles-pattern to set its mode"
grep -q 'exited with status' "$log" && die "gles-pattern exited"
grep -q "gles-pattern: GL_RENDERER: virgl (" "$log" || die "the guest does not render through virgl"
grep -q "gles-pattern: GL_VERSION: OpenGL ES" "$log" || die "no GL_VERSION line"
grep -E "gles-pattern: .* mode .*${W}x${H}" "$log" >/dev/null || die "guest did not use the offered ${W}x${H} mode"
grep "gles-pattern: GL_" "$log"

# 60 presented frames: the first is the zone's key frame, the rest are the
# guest's page flips, so the last one shows the guest's picture.
timeout 180 "$ZONE_CLIENT" -s "127.0.0.1:$port" -z z -b headless -o "$E2E_TMP/out" -n $frames \
	--stats "$E2E_TMP/stats.json" >"$E2E_TMP/zone-client.log" 2>&1 ||
	die "zone-client failed ($?)"
e2e_check_stats "$E2E_TMP/stats.json" $frames
"$E2E_SRC/tools/check-pattern" --black-bar-any --require-content "$E2E_TMP/out/last.png" ||
	die "pattern check failed"
if [ -n "$ref" ]; then
	. "$E2E_SRC/tests/reference/tolerance.sh"
	# The key frame of a join is the zone as it is then: on a slow machine the
	# guest's still may reach the zone after the first join. Each new join
	# gets a fresh key frame; a few tries.
	for try in 1 2 3 4 5; do
		"$E2E_SRC/tools/compare-image" "$ref" "$E2E_TMP/out/last.png" --tolerance "$REF_TOLERANCE" \
			--max-bad "$REF_MAX_BAD" --diff "$E2E_TMP/out/diff.png" && break
		[ $try = 5 ] && { E2E_KEEP=1; die "not the reference image (kept: $E2E_TMP/out/last.png, diff.png)"; }
		echo "not the reference yet (try $try); joining again"
		sleep 1
		timeout 60 "$ZONE_CLIENT" -s "127.0.0.1:$port" -z z -b headless -o "$E2E_TMP/out" -n 1 \
			>"$E2E_TMP/zone-client.log" 2>&1 || die "zone-client failed ($?)"
	done
fi
# The app's own frame rate (every 5 s), for the record.
e2e_wait_for "grep -q 'gles-pattern: .* flips, .* fps' '$log'" 30 "a frame-rate line"
grep "gles-pattern: .* fps" "$log" | tail -1
echo "PASS"
