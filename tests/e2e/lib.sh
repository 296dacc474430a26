#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shared helpers for end-to-end tests: real gpu-server, real QEMU guests
# (tools/guest-vm), real zone-client, on loopback. Source it; call e2e_init.
set -euo pipefail

E2E_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_BUILD=${ZONAL_BUILD_DIR:-$E2E_SRC/build}
GPU_SERVER=$E2E_BUILD/gpu-server/gpu-server
ZONE_CLIENT=$E2E_BUILD/zone-client/zone-client
GUEST_VM=$E2E_SRC/tools/guest-vm
E2E_PIDS=()

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*" >&2; e2e_dump_logs; exit 1; }

e2e_init() {
	command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
	[ -x "$GPU_SERVER" ] || die "$GPU_SERVER not built"
	[ -x "$ZONE_CLIENT" ] || die "$ZONE_CLIENT not built"
	E2E_TMP=$(mktemp -d /tmp/zonal-e2e.XXXXXX)
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	echo "work dir: $E2E_TMP"
}

e2e_cleanup() {
	local pid
	for pid in "${E2E_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${E2E_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "kept $E2E_TMP"
	else
		rm -rf "$E2E_TMP"
	fi
}

e2e_dump_logs() {
	[ -n "${E2E_TMP:-}" ] || return 0
	local f
	for f in "$E2E_TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "----- $(basename "$f") (last 40 lines) -----" >&2
		tail -n 40 "$f" >&2
	done
}

# e2e_read_port: sets port to the control port of the gpu-server
# e2e_start_server started (configure control=127.0.0.1:0: the kernel picks,
# nothing can take it between picking and binding).
e2e_read_port() {
	e2e_wait_for "grep -q 'control: listening on' '$E2E_TMP/gpu-server.log'" 10 "gpu-server's control port"
	port=$(sed -n 's/.*control: listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$E2E_TMP/gpu-server.log" | head -1)
	[ -n "$port" ] || die "no control port in gpu-server.log"
}

# e2e_wait_for COND_COMMAND TIMEOUT_S WHAT
e2e_wait_for() {
	local cond=$1 timeout=$2 what=$3 i
	for ((i = 0; i < timeout * 10; i++)); do
		if eval "$cond"; then
			return 0
		fi
		sleep 0.1
	done
	die "timed out after ${timeout}s waiting for $what"
}

# e2e_start_server CONFIG_FILE
e2e_start_server() {
	"$GPU_SERVER" -c "$1" >"$E2E_TMP/gpu-server.log" 2>&1 &
	E2E_SERVER_PID=$!
	E2E_PIDS+=("$E2E_SERVER_PID")
	e2e_wait_for "grep -qs 'gpu-server ready' '$E2E_TMP/gpu-server.log' || ! kill -0 $E2E_SERVER_PID 2>/dev/null" 10 "gpu-server to start"
	kill -0 "$E2E_SERVER_PID" 2>/dev/null || die "gpu-server exited at start"
}

# e2e_start_guest NAME SOCKET [guest-vm args...]
e2e_start_guest() {
	local name=$1 sock=$2
	shift 2
	"$GUEST_VM" --vhost-user "$sock" --log "$E2E_TMP/guest-$name.log" "$@" \
		>"$E2E_TMP/guest-vm-$name.log" 2>&1 &
	E2E_PIDS+=("$!")
}

# e2e_check_stats STATS_JSON MIN_FRAMES: the client's own account must be clean.
e2e_check_stats() {
	python3 - "$1" "$2" <<'PY' || die "stats check failed"
import json, sys
s = json.load(open(sys.argv[1]))
need = int(sys.argv[2])
print("stats:", json.dumps(s))
assert s["crc_mismatches"] == 0, "crc_mismatches = %d" % s["crc_mismatches"]
assert s["frames_presented"] >= need, "frames_presented = %d < %d" % (s["frames_presented"], need)
assert s["present_source"] == "copy", s["present_source"]
lat = s["latency_ms"]
assert 0 <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat
PY
}
