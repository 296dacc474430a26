#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real QEMU against vu-backend, no guest kernel: vhost-user-gpu-pci realizes
# (GET_FEATURES ... SET_VRING_ERR), the machine reset sends RESET_DEVICE, and
# QEMU stays up. Then QEMU quits and the backend, which exits when its
# frontend goes, must report no refused message.
#   qemu-handshake.sh VU_BACKEND
set -euo pipefail

BACKEND=${1:?usage: $0 VU_BACKEND}
QEMU=${ZONAL_QEMU:-qemu-system-x86_64}

command -v "$QEMU" >/dev/null || { echo "SKIP: $QEMU not installed"; exit 77; }
major=$("$QEMU" --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -1)
# QEMU before 10 runs vhost-user-gpu only under KVM.
[ "${major:-0}" -ge 10 ] || { echo "SKIP: QEMU $major < 10"; exit 77; }

TMP=$(mktemp -d /tmp/vu-handshake.XXXXXX)
BPID= QPID=
cleanup() {
	[ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true
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
# wait_for COND SECONDS WHAT
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		eval "$1" && return 0
		sleep 0.1
	done
	fail "timed out after $2 s waiting for $3"
}

SOCK=$TMP/gpu.sock
"$BACKEND" -v --exit-on-disconnect "$SOCK" >"$TMP/backend.out" 2>"$TMP/backend.log" &
BPID=$!
wait_for "[ -S '$SOCK' ]" 5 "the backend socket"

"$QEMU" -nodefaults -display none -machine q35 -m 512 \
	-object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem \
	-chardev socket,id=c,path="$SOCK" -device vhost-user-gpu-pci,chardev=c \
	-monitor none -serial none >"$TMP/qemu.log" 2>&1 &
QPID=$!

# Realize done and the machine reset: the last message QEMU sends at start.
wait_for "grep -q 'RESET_DEVICE' '$TMP/backend.log' || ! kill -0 $QPID 2>/dev/null" 30 \
	"QEMU to realize the device"
sleep 1
kill -0 "$QPID" 2>/dev/null || fail "QEMU exited: $(cat "$TMP/qemu.log")"
for m in GET_FEATURES GET_PROTOCOL_FEATURES SET_PROTOCOL_FEATURES GET_QUEUE_NUM \
	GET_MAX_MEM_SLOTS SET_OWNER SET_VRING_CALL SET_VRING_ERR; do
	grep -q "<- $m " "$TMP/backend.log" || fail "QEMU did not send $m"
done

kill -TERM "$QPID"
wait "$QPID" 2>/dev/null || true
QPID=
# The backend leaves when its frontend does.
wait_for "! kill -0 $BPID 2>/dev/null" 10 "the backend to exit"
wait "$BPID" || fail "backend exited with $?"
BPID=
stats=$(tail -n 1 "$TMP/backend.out")
echo "$stats"
case "$stats" in
*"connections=1 "*"bad_messages=0 "*"broken=0"*) ;;
*) fail "unexpected backend stats: $stats" ;;
esac
grep -q "ERROR" "$TMP/backend.log" && fail "backend logged errors"
echo "PASS"
