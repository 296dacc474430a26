# SPDX-License-Identifier: MIT
# Sourced (bash) by the transport and interop tests: a work directory T,
# the processes to stop (pids), fail, free_port. Set LIB_NAME first; KEEP=1
# keeps T. Every test started here is killed at exit.
T=$(mktemp -d "${TMPDIR:-/tmp}/zonal-$LIB_NAME.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$T"/*.log; do echo "--- $f"; tail -20 "$f"; done; KEEP=1; exit 1; }
# free_port [ADDR]: a TCP port free on ADDR (127.0.0.1).
free_port() { python3 -c "import socket; s=socket.socket(); s.bind(('${1:-127.0.0.1}',0)); print(s.getsockname()[1])"; }
