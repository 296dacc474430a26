# SPDX-License-Identifier: MIT
# Sourced (bash) by the tests that need a gpu-server with a vtest frame
# source (zone-source.py) on zone z: auth.sh, clock.sh, advertise.sh, the
# benchmarks, the Wayland test. Set LIB_NAME, GS, ZC and HERE first (HERE:
# this folder or one beside it); the prelude is test-lib.sh.
LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$LIB_DIR/test-lib.sh"
# start_server [KEYFILE]: gpu-server on 127.0.0.1:$PORT (the kernel's pick) with
# the vtest source as zone z's only layer. Knobs: ZONE_SIZE (64x64), ZONE_FPS
# (60), ZONE_EXTRA ([zone] lines), SERVER_EXTRA ([server] lines), GS_LOG
# ($T/gpu-server.log), START_SOURCE (1: also start zone-source, endlessly;
# 0: the test runs its own). Skips (77) without a renderer.
start_server() {
	local size=${ZONE_SIZE:-64x64}
	GS_LOG=${GS_LOG:-$T/gpu-server.log}
	{
		echo "[server]"
		echo "control=127.0.0.1:0" # the port is read from the log: no window to lose it
		echo "vtest=$T/vtest.sock"
		[ -n "${1:-}" ] && echo "key-file=$1"
		[ -n "${SERVER_EXTRA:-}" ] && echo "$SERVER_EXTRA"
		echo "[guest src]"
		echo "vtest-app=zone-source"
		echo "[zone z]"
		echo "mode=$size@${ZONE_FPS:-60}"
		echo "layer=src:0 0,0 $size"
		[ -n "${ZONE_EXTRA:-}" ] && echo "$ZONE_EXTRA"
	} >"$T/gs.ini"
	rm -f "$T/vtest.sock"
	"$GS" -c "$T/gs.ini" >"$GS_LOG" 2>&1 &
	GSPID=$!
	pids+=($GSPID)
	wait_for 30 test -S "$T/vtest.sock" ||
		{ grep -q "vtest is off" "$GS_LOG" && { echo "SKIP: no renderer"; exit 77; }; fail "gpu-server did not start"; }
	wait_for 10 grep -q "control: listening on" "$GS_LOG" || fail "gpu-server has no control port"
	PORT=$(sed -n 's/.*control: listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$GS_LOG" | head -1)
	SRC=
	if [ "${START_SOURCE:-1}" = 1 ]; then
		python3 "$LIB_DIR/zone-source.py" "$T/vtest.sock" --size "$size" --frames 100000 \
			>"$T/source.log" 2>&1 &
		SRC=$!
		pids+=($SRC)
	fi
}
stop_server() {
	[ -n "${SRC:-}" ] && kill $SRC 2>/dev/null || true
	kill -TERM $GSPID
	wait $GSPID || fail "gpu-server exited with $?"
	[ -n "${SRC:-}" ] && wait $SRC 2>/dev/null || true
	pids=()
}
