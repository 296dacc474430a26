#!/bin/sh
# SPDX-License-Identifier: MIT
# Records real virgl command streams for tests/virgl-cs/data/: runs
# virgl_test_server (EGL surfaceless) behind capture.py, and each command
# given after OUTDIR under GALLIUM_DRIVER=virpipe. Mesa 22.3's virpipe always
# connects to /tmp/.virgl_test, so it all runs in a private mount namespace
# with its own /tmp. A developer tool, not part of the test suite.
# Usage: capture.sh OUTDIR 'CMD ARGS' ['CMD ARGS' ...]
set -u
if [ "${CAPTURE_IN_NS:-0}" != 1 ]; then
	CAPTURE_IN_NS=1 exec unshare -m sh "$0" "$@"
fi
OUT=$(realpath -m "$1")
shift
SELF_DIR=$(dirname "$(realpath "$0")")
# Keep the real /tmp reachable (OUT or this checkout may live there).
ORIG_TMP=/run/virgl-cs-capture.$$
mkdir -p "$ORIG_TMP" && mount --bind /tmp "$ORIG_TMP" || exit 1
remap() {
	case $1 in
	/tmp/*) echo "$ORIG_TMP/${1#/tmp/}" ;;
	*) echo "$1" ;;
	esac
}
OUT=$(remap "$OUT")
SELF_DIR=$(remap "$SELF_DIR")
mount -t tmpfs tmpfs /tmp || exit 1
mkdir -p "$OUT"

virgl_test_server --use-egl-surfaceless --socket-path /tmp/real.sock > /tmp/vts.log 2>&1 &
vts=$!
python3 "$SELF_DIR/capture.py" /tmp/.virgl_test /tmp/real.sock "$OUT" 2> /tmp/capture.log &
cap=$!
i=0
while [ $i -lt 100 ] && { [ ! -S /tmp/.virgl_test ] || [ ! -S /tmp/real.sock ]; }; do
	sleep 0.1
	i=$((i + 1))
done
for c in "$@"; do
	echo "== $c"
	# shellcheck disable=SC2086
	GALLIUM_DRIVER=virpipe PIGLIT_PLATFORM=surfaceless_egl timeout 60 $c 2>&1 | tail -3
done
kill $cap $vts
wait $cap $vts 2>/dev/null
cat /tmp/capture.log
umount /tmp
umount "$ORIG_TMP"
rmdir "$ORIG_TMP"
