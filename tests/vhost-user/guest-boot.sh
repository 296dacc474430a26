#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real Linux guest (tools/guest-vm: Debian kernel, virtio_gpu driver, the
# `pattern` page-flip app) on vu-backend: DRIVER_OK starts the rings, the
# driver's GET_DISPLAY_INFO, EDID, resource creation, backing, transfers,
# SET_SCANOUT and flushes arrive through kicks and come back through calls.
# After some seconds of flips QEMU is stopped; the backend must have served
# hundreds of requests with no refused message, bad chain or broken ring.
#   guest-boot.sh VU_BACKEND BUILD_DIR
set -euo pipefail

BACKEND=${1:?usage: $0 VU_BACKEND BUILD_DIR}
BUILD=${2:?usage: $0 VU_BACKEND BUILD_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
GUEST_VM=$SRC/tools/guest-vm
QEMU=${ZONAL_QEMU:-qemu-system-x86_64}

command -v "$QEMU" >/dev/null || { echo "SKIP: $QEMU not installed"; exit 77; }
[ -x "$GUEST_VM" ] || { echo "SKIP: tools/guest-vm not there"; exit 77; }
[ -x "$BUILD/guest/pattern" ] || { echo "SKIP: $BUILD/guest/pattern not built"; exit 77; }

TMP=$(mktemp -d /tmp/vu-guest.XXXXXX)
BPID= GPID=
cleanup() {
	[ -z "$GPID" ] || kill "$GPID" 2>/dev/null || true
	[ -z "$BPID" ] || kill "$BPID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in "$TMP"/*.log "$TMP"/*.out; do
		[ -f "$f" ] && { echo "----- $(basename "$f")" >&2; tail -n 40 "$f" >&2; }
	done
	exit 1
}
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		eval "$1" && return 0
		sleep 0.1
	done
	fail "timed out after $2 s waiting for $3"
}

SOCK=$TMP/gpu.sock
"$BACKEND" --exit-on-disconnect "$SOCK" >"$TMP/backend.out" 2>"$TMP/backend.log" &
BPID=$!
wait_for "[ -S '$SOCK' ]" 5 "the backend socket"

# guest-vm execs QEMU: its PID is QEMU's.
"$GUEST_VM" --vhost-user "$SOCK" --build-dir "$BUILD" --app pattern \
	--log "$TMP/guest.log" >"$TMP/guest-vm.out" 2>&1 &
GPID=$!

wait_for "grep -q 'flips' '$TMP/guest.log' 2>/dev/null || ! kill -0 $GPID 2>/dev/null" 240 \
	"the guest to page-flip"
kill -0 "$GPID" 2>/dev/null || fail "QEMU exited early"
grep -q 'ERROR' "$TMP/guest.log" && fail "the guest reported an error"

kill -TERM "$GPID"
wait "$GPID" 2>/dev/null || true
GPID=
wait_for "! kill -0 $BPID 2>/dev/null" 10 "the backend to exit"
wait "$BPID" || fail "backend exited with $?"
BPID=
stats=$(tail -n 1 "$TMP/backend.out")
echo "$stats"
grep -E 'pattern: .*flips' "$TMP/guest.log" | tail -n 1
n() { echo "$stats" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
[ "$(n bad_messages)" = 0 ] || fail "refused messages"
[ "$(n bad_chains)" = 0 ] || fail "bad chains"
[ "$(n ctrl_requests)" -ge 100 ] || fail "too few controlq requests"
[ "$(n scanout_updates)" -ge 50 ] || fail "too few scanout updates"
[ "$(n calls)" -ge 50 ] || fail "too few call notifications"
case "$stats" in *"broken=0"*) ;; *) fail "a ring broke" ;; esac
echo "PASS"
