#!/bin/sh
# SPDX-License-Identifier: MIT
# Reference images via vtest: render-scene (the project's GL scene, EGL
# surfaceless + GLES2) runs under GALLIUM_DRIVER=virpipe against gpu-server's
# vtest socket, and each frame it writes must match the stored reference
# (made on the host's own Mesa, README.md) within the suite's tolerance; on a
# mismatch the difference image is kept and its path printed.
# Usage: reference-vtest.sh GPU_SERVER RENDER_SCENE
set -u
. "$(dirname "$0")/../vtest/ns-lib.sh"
ns_enter "$@"
GS=$(ns_path "$1")
APP=$(ns_path "$2")
REF_DIR=$NS_SRC/tests/reference
. "$REF_DIR/tolerance.sh"
# Kept outside the namespace's /tmp, for a person to look at.
KEEP_HOST=${TMPDIR:-/tmp}/zonal-reference.$$
KEEP=$(ns_path "$KEEP_HOST")

cat > /tmp/gs.ini <<EOT
[server]
control=127.0.0.1:0
vtest=/tmp/.virgl_test
[guest a]
vhost-user=/tmp/a.sock
[zone z]
mode=64x64
layer=a:0 0,0 64x64
EOT
"$GS" -c /tmp/gs.ini > /tmp/gs.log 2>&1 &
gs=$!
ns_wait_vtest $gs /tmp/gs.log

fail=0
for ref in "$REF_DIR"/scene-*.png; do
	# scene-WxH-fN.png
	name=$(basename "$ref" .png)
	size=${name#scene-}; size=${size%-f*}
	frame=${name##*-f}
	w=${size%x*} h=${size#*x}
	out=$(GALLIUM_DRIVER=virpipe timeout 60 "$APP" "$w" "$h" "$frame" "/tmp/$name.png" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || ! echo "$out" | grep -q "^GL_RENDERER=virgl"; then
		echo "FAIL: render-scene $w $h $frame (rc $rc): $out"; fail=1; continue
	fi
	if ! "$NS_SRC/tools/compare-image" "$ref" "/tmp/$name.png" --tolerance "$REF_TOLERANCE" \
			--max-bad "$REF_MAX_BAD" --diff "/tmp/$name-diff.png"; then
		mkdir -p "$KEEP" && cp "/tmp/$name.png" "/tmp/$name-diff.png" "$KEEP/" 2>/dev/null
		echo "kept $KEEP_HOST (the vtest render and its difference image)"
		fail=1
	fi
done
kill $gs
wait $gs
[ $? -eq 0 ] || { echo "FAIL: gpu-server exit status"; cat /tmp/gs.log; exit 1; }
[ $fail -eq 0 ] || exit 1
echo PASS
