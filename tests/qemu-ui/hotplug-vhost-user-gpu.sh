#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Connector hotplug with vhost-user-gpu-pci, the device gpu-server serves:
# QEMU 10 refuses VNC on its consoles, so gs_qemu_ui goes through QMP
# add_client and the D-Bus display (SetUIInfo). The backend here is QEMU's
# own contrib vhost-user-gpu (package qemu-system-gui, or set
# ZONAL_VHOST_USER_GPU): it forwards GET_DISPLAY_INFO to QEMU, so the guest
# reads back what QEMU was told. With gpu-server the event path is the same
# and our device model answers instead.
. "$(dirname "$0")/lib-hotplug.sh"

hp_init
vug=${ZONAL_VHOST_USER_GPU:-/usr/lib/qemu/vhost-user-gpu}
[ -x "$vug" ] || skip "no vhost-user-gpu backend at $vug (package qemu-system-gui)"
hp_has_display dbus || skip "QEMU has no D-Bus display (package qemu-system-modules-opengl)"
hp_prepare_guest

start_backend() {
	rm -f "$HP_TMP/gpu.sock"
	"$vug" -s "$HP_TMP/gpu.sock" >>"$HP_TMP/backend.log" 2>&1 &
	HP_PIDS+=("$!")
	local i
	for ((i = 0; i < 50; i++)); do
		[ -S "$HP_TMP/gpu.sock" ] && return 0
		sleep 0.1
	done
	die "vhost-user-gpu did not create its socket"
}

gpu_args=(-machine q35,memory-backend=mem
	-object memory-backend-memfd,id=mem,size=256M,share=on
	-chardev "socket,id=gpu,path=$HP_TMP/gpu.sock"
	-device vhost-user-gpu-pci,chardev=gpu,id=gpu0,max_outputs=2)

# Why not VNC: record QEMU's refusal, so we notice if a QEMU ever allows it.
start_backend
hp_start_qemu vnc-probe "${gpu_args[@]}" -S -display none -vnc "unix:$HP_TMP/vnc.sock"
for ((i = 0; i < 100; i++)); do
	kill -0 "$HP_QEMU_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$HP_QEMU_PID" 2>/dev/null; then
	echo "note: this QEMU accepts VNC on a vhost-user-gpu console; the vnc: address works too"
	kill "$HP_QEMU_PID"
else
	echo "QEMU refuses VNC here: $(tr -d '\r' <"$HP_TMP/vnc-probe-qemu.log" | tail -n 1)"
fi
wait "$HP_QEMU_PID" 2>/dev/null || true

# QEMU's contrib backend is single-threaded and asks QEMU for display info
# and EDID over its display socket, waiting for the answer; when the guest
# writes events_clear at that moment, QEMU's vCPU waits for the backend's
# SET_CONFIG reply with the big lock held, and neither moves again (seen
# about once in ten runs on a loaded machine). That is the stand-in backend's
# flaw, not the event path under test: start over once, then give up (skip).
hp_on_stuck() {
	hp_monitor_answers "$HP_TMP/qmp.sock" && return 0
	echo "QEMU's monitor is silent: QEMU and the contrib vhost-user-gpu are deadlocked" >&2
	hp_dump_logs
	if [ "${HP_RETRIED:-0}" = 0 ]; then
		echo "starting over once" >&2
		hp_cleanup
		trap - EXIT
		HP_RETRIED=1 exec "$0"
	fi
	skip "QEMU and the contrib vhost-user-gpu backend deadlocked twice"
}

start_backend
hp_start_qemu guest "${gpu_args[@]}" -display dbus,p2p=yes \
	-qmp "unix:$HP_TMP/qmp.sock,server=on,wait=off"
hp_wait_state "Virtual-1=connected:1280x800 Virtual-2=disconnected:" 180

qmp="qmp:$HP_TMP/qmp.sock"
hp_step "$qmp" 1:1024x768 "Virtual-1=connected:1280x800 Virtual-2=connected:1024x768"
hp_step "$qmp" 0:off "Virtual-1=disconnected: Virtual-2=connected:1024x768"
hp_step "$qmp" 0:800x600 "Virtual-1=connected:800x600 Virtual-2=connected:1024x768"
hp_step "$qmp" 1:off "Virtual-1=connected:800x600 Virtual-2=disconnected:"
echo "PASS"
