# SPDX-License-Identifier: MIT
# Sourced (bash) by the transport tests that need a gpu-server with a vtest
# frame source (zone-source.py) on zone z, 64x64: auth.sh, clock.sh.
# Set LIB_NAME, GS, ZC and HERE first; the prelude is test-lib.sh.
. "$HERE/test-lib.sh"
# start_server [KEYFILE]: gpu-server with a vtest frame source on zone z
# (SERVER_EXTRA: more [server] lines).
start_server() {
	PORT=$(free_port)
	{
		echo "[server]"
		echo "control=127.0.0.1:$PORT"
		echo "vtest=$T/vtest.sock"
		[ -n "${1:-}" ] && echo "key-file=$1"
		[ -n "${SERVER_EXTRA:-}" ] && echo "$SERVER_EXTRA"
		echo "[guest src]"
		echo "vtest-app=zone-source"
		echo "[zone z]"
		echo "mode=64x64@60"
		echo "layer=src:0 0,0 64x64"
	} >"$T/gs.ini"
	rm -f "$T/vtest.sock"
	"$GS" -c "$T/gs.ini" >"$T/gpu-server.log" 2>&1 &
	GSPID=$!
	pids+=($GSPID)
	for _ in $(seq 100); do [ -S "$T/vtest.sock" ] && break; sleep 0.1; done
	[ -S "$T/vtest.sock" ] || { grep -q "vtest is off" "$T/gpu-server.log" && { echo "SKIP: no renderer"; exit 77; }; fail "gpu-server did not start"; }
	python3 "$HERE/zone-source.py" "$T/vtest.sock" --size 64x64 --frames 100000 >"$T/source.log" 2>&1 &
	SRC=$!
	pids+=($SRC)
}
stop_server() {
	kill $SRC 2>/dev/null || true
	kill -TERM $GSPID
	wait $GSPID || fail "gpu-server exited with $?"
	wait $SRC 2>/dev/null || true
	pids=()
}
