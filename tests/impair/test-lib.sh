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
# wait_for SECONDS CMD...: until CMD succeeds (polled every 0.1 s); false on
# timeout. Readiness, not a fixed sleep: slow machines get the time they need.
wait_for() {
	local n=$(($1 * 10)); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	"$@"
}
# udp_bound PORT: something listens on UDP PORT.
udp_bound() { ss -Hlun "sport = :$1" | grep -q .; }
# files_settled DIR: DIR has files and got none new in the last 0.5 s.
files_settled() {
	local a b
	a=$(ls "$1" 2>/dev/null | wc -l)
	sleep 0.5
	b=$(ls "$1" 2>/dev/null | wc -l)
	[ "$a" -gt 0 ] && [ "$a" = "$b" ]
}
