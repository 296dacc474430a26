#!/bin/sh
# SPDX-License-Identifier: MIT
# A real host GL app (gl-app: EGL surfaceless + GLES2) under Mesa's virpipe
# driver against gpu-server's vtest socket. Mesa 22.3's virpipe always
# connects to /tmp/.virgl_test, so it all runs in a private mount namespace
# with its own /tmp. With VTEST_COMPARE=1 it runs the same app against
# virgl_test_server too and prints both frame rates.
# Usage: vtest-gl-app.sh GPU_SERVER GL_APP [FRAMES]
set -u
. "$(dirname "$0")/ns-lib.sh"
ns_enter "$@"
GS=$(ns_path "$1")
APP=$(ns_path "$2")
FRAMES=${3:-120}
SELF_DIR=$NS_SRC/tests/vtest
# Without virpipe the app must run at all (EGL surfaceless on llvmpipe).
"$APP" 1 16 16 >/dev/null 2>&1
case $? in 0) ;; 77) echo "SKIP: no EGL surfaceless"; exit 77 ;; *) echo "FAIL: gl-app alone"; exit 1 ;; esac

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

ZONAL_DEBUG=vtest "$GS" -c /tmp/gs.ini > /tmp/gs.log 2>&1 &
gs=$!
ns_wait_vtest $gs /tmp/gs.log
# Hostile clients first: each is dropped, the server carries on.
if command -v python3 >/dev/null; then
	timeout 60 python3 "$SELF_DIR/hostile-client.py" /tmp/.virgl_test || { echo "FAIL: hostile"; exit 1; }
	# A display target read back reaches gpu-server's listener.
	timeout 60 python3 "$SELF_DIR/present-client.py" /tmp/.virgl_test || { echo "FAIL: present"; cat /tmp/gs.log; exit 1; }
	grep -q "present-client: present 64x32 damage 0,0-64,32 px0=ff112233" /tmp/gs.log ||
		{ echo "FAIL: no present event"; cat /tmp/gs.log; exit 1; }
fi
out=$(GALLIUM_DRIVER=virpipe timeout 60 "$APP" "$FRAMES" 2>&1)
rc=$?
echo "gpu-server: $out" | grep -v "fd$\|available$"
# A second client on the same server in a row: per-connection state is clean.
out2=$(GALLIUM_DRIVER=virpipe timeout 60 "$APP" 10 64 48 2>&1)
rc2=$?
kill $gs
wait $gs
gsrc=$?
if [ $rc -ne 0 ] || [ $rc2 -ne 0 ] || ! echo "$out" | grep -q "^GL_RENDERER=virgl"; then
	echo "FAIL: app rc=$rc/$rc2"; echo "$out2"; cat /tmp/gs.log; exit 1
fi
if [ $gsrc -ne 0 ]; then
	echo "FAIL: gpu-server exited with $gsrc"; cat /tmp/gs.log; exit 1
fi

# Without EGL (no Mesa vendor for libglvnd) the server still serves 2D.
rm -f /tmp/.virgl_test /tmp/a.sock
__EGL_VENDOR_LIBRARY_FILENAMES=/nonexistent.json "$GS" -c /tmp/gs.ini > /tmp/gs-noegl.log 2>&1 &
gs=$!
i=0
while [ $i -lt 100 ] && ! grep -q "gpu-server ready" /tmp/gs-noegl.log; do sleep 0.1; i=$((i + 1)); done
sock=0
[ -S /tmp/a.sock ] && sock=1
kill $gs
wait $gs
gsrc=$?
if [ $gsrc -ne 0 ] || [ $sock -ne 1 ] || ! grep -q "vtest is off" /tmp/gs-noegl.log; then
	echo "FAIL: without EGL (rc=$gsrc)"; cat /tmp/gs-noegl.log; exit 1
fi

if [ "${VTEST_COMPARE:-0}" = 1 ] && command -v virgl_test_server >/dev/null; then
	rm -f /tmp/.virgl_test
	virgl_test_server --use-egl-surfaceless > /tmp/vts.log 2>&1 &
	vts=$!
	ns_wait_vtest $vts /tmp/vts.log
	ref=$(GALLIUM_DRIVER=virpipe timeout 60 "$APP" "$FRAMES" 2>&1)
	echo "virgl_test_server: $ref" | grep -v "fd$\|available$"
	kill $vts; wait $vts
fi
echo PASS
exit 0
