#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shared by the hotplug e2e tests: a real Linux guest whose /init reports its
# virtio-gpu connectors on the serial console, and qemu-ui-ctl (gs_qemu_ui)
# poking QEMU's UI layer. Source it; call hp_init.
set -euo pipefail

HP_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HP_BUILD=${ZONAL_BUILD_DIR:-$HP_SRC/build}
HP_CTL=$HP_BUILD/tests/qemu-ui/qemu-ui-ctl
HP_QEMU=${ZONAL_QEMU:-qemu-system-x86_64}
HP_PIDS=()

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*" >&2; hp_dump_logs; exit 1; }

hp_init() {
	command -v "$HP_QEMU" >/dev/null || skip "$HP_QEMU not installed"
	command -v cpio >/dev/null || skip "cpio not installed"
	[ -x "$HP_CTL" ] || die "$HP_CTL not built"
	HP_TMP=$(mktemp -d /tmp/zonal-hotplug.XXXXXX)
	trap hp_cleanup EXIT
	trap 'exit 130' INT TERM
	echo "work dir: $HP_TMP"
}

hp_stop_pids() {
	local pid i alive
	for pid in "${HP_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	# A QEMU deadlocked with its backend ignores SIGTERM.
	for ((i = 0; i < 50; i++)); do
		alive=0
		for pid in "${HP_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for pid in "${HP_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	HP_PIDS=()
}

hp_cleanup() {
	hp_stop_pids
	if [ "${E2E_KEEP:-0}" = 1 ]; then
		echo "kept $HP_TMP"
	else
		rm -rf "$HP_TMP"
	fi
}

hp_dump_logs() {
	[ -n "${HP_TMP:-}" ] || return 0
	local f
	for f in "$HP_TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "----- $(basename "$f") (last 30 lines) -----" >&2
		tail -n 30 "$f" | tr -d '\r' >&2
	done
}

hp_has_display() {
	"$HP_QEMU" -display help 2>/dev/null | grep -qx "$1"
}

# The guest: tools/guest-vm's kernel, modules and busybox, with our /init
# appended as a second initramfs archive (later files win). Sets HP_KERNEL
# and HP_INITRD.
HP_INIT='#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox --install -s /bin
export PATH=/bin
exec </dev/console >/dev/console 2>&1
while read -r m; do
	insmod "/lib/modules/$m.ko" || echo "zonal-hotplug: insmod $m failed"
done </lib/modules/load-order
# zonal.drmdebug=1 (with loglevel=8): the driver logs every GET_DISPLAY_INFO
# answer ("output N: ..."), which shows an event reached it even when the
# connector state does not change.
case " $(cat /proc/cmdline) " in
*" zonal.drmdebug=1 "*) echo 0x1 >/sys/module/drm/parameters/debug ;;
esac
i=0
while [ ! -e /sys/class/drm/card0-Virtual-1/status ] && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
# The connector state is what the driver learnt from GET_DISPLAY_INFO after
# the last VIRTIO_GPU_EVENT_DISPLAY; print it whenever it changes.
prev=
while :; do
	cur=
	for c in /sys/class/drm/card0-Virtual-*; do
		[ -e "$c/status" ] || continue
		cur="$cur ${c##*/card0-}=$(cat "$c/status"):$(head -n 1 "$c/modes" 2>/dev/null)"
	done
	if [ "$cur" != "$prev" ]; then
		echo "zonal-hotplug:$cur"
		prev=$cur
	fi
	sleep 0.1
done
'

hp_prepare_guest() {
	local cmd
	if ! cmd=$("$HP_SRC/tools/guest-vm" --gpu virtio-gpu-pci --print-cmd --build-dir "$HP_BUILD" 2>"$HP_TMP/guest-vm.log"); then
		cat "$HP_TMP/guest-vm.log" >&2
		skip "tools/guest-vm could not prepare a guest kernel"
	fi
	local -a words
	eval "words=($cmd)"
	local i
	HP_KERNEL= HP_INITRD=
	for ((i = 0; i < ${#words[@]} - 1; i++)); do
		case "${words[i]}" in
		-kernel) HP_KERNEL=${words[i + 1]} ;;
		-initrd) HP_INITRD=${words[i + 1]} ;;
		esac
	done
	[ -f "$HP_KERNEL" ] && [ -f "$HP_INITRD" ] || die "no -kernel/-initrd in: $cmd"
	mkdir -p "$HP_TMP/overlay"
	printf '%s' "$HP_INIT" >"$HP_TMP/overlay/init"
	chmod 755 "$HP_TMP/overlay/init"
	(cd "$HP_TMP/overlay" && echo init | cpio -o -H newc --quiet) | gzip -1 >"$HP_TMP/overlay.cpio.gz"
	cat "$HP_INITRD" "$HP_TMP/overlay.cpio.gz" >"$HP_TMP/initrd"
	HP_INITRD=$HP_TMP/initrd
}

# hp_start_qemu NAME ARGS...: boots the guest with the serial console in
# $HP_TMP/NAME.log; sets HP_QEMU_PID and HP_LOG. HP_APPEND adds to the
# kernel command line.
hp_start_qemu() {
	local name=$1
	shift
	HP_LOG=$HP_TMP/$name.log
	"$HP_QEMU" -nodefaults -no-user-config -accel tcg -m 256M -no-reboot \
		-kernel "$HP_KERNEL" -initrd "$HP_INITRD" \
		-append "console=ttyS0 panic=-1 loglevel=4 ${HP_APPEND:-}" \
		-serial "file:$HP_LOG" "$@" >"$HP_TMP/$name-qemu.log" 2>&1 &
	HP_QEMU_PID=$!
	HP_PIDS+=("$HP_QEMU_PID")
}

hp_state() {
	[ -f "$HP_LOG" ] || return 0
	tr -d '\r' <"$HP_LOG" | sed -n 's/^zonal-hotplug: //p' | tail -n 1
}

# hp_wait_state STATE TIMEOUT_S: until the guest's latest report is STATE.
hp_wait_state() {
	local want=$1 timeout=$2 i
	for ((i = 0; i < timeout * 10; i++)); do
		[ "$(hp_state)" = "$want" ] && return 0
		kill -0 "$HP_QEMU_PID" 2>/dev/null || die "QEMU exited"
		sleep 0.1
	done
	if declare -F hp_on_stuck >/dev/null; then
		hp_on_stuck
	fi
	die "guest connectors are '$(hp_state)', not '$want', after ${timeout}s"
}

now_ms() { date +%s%3N; }

# hp_monitor_answers QMP_SOCKET: whether QEMU's main loop still runs QMP
# commands. (The greeting alone proves nothing: QMP's I/O thread sends it.)
hp_monitor_answers() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
try:
    s.connect(sys.argv[1])
    buf = b''
    while b'\n' not in buf:
        buf += s.recv(4096)
    s.sendall(b'{"execute":"qmp_capabilities"}\n')
    buf = b''
    while b'"return"' not in buf:
        data = s.recv(4096)
        if not data:
            sys.exit(1)
        buf += data
except OSError:
    sys.exit(1)
PY
}

# hp_step ADDRESS STEP STATE: one event through gs_qemu_ui, then the
# connector state the guest must end up in. Prints the timings.
hp_step() {
	local address=$1 step=$2 want=$3 t0 t1 t2
	t0=$(now_ms)
	"$HP_CTL" -t 30 "$address" "$step" >>"$HP_TMP/ctl.log" 2>&1 || die "qemu-ui-ctl $step failed"
	t1=$(now_ms)
	hp_wait_state "$want" 30
	t2=$(now_ms)
	printf '%-14s %-48s accepted after %4d ms, guest saw it after %4d ms\n' \
		"$step" "$want" $((t1 - t0)) $((t2 - t0))
}
