#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Connector hotplug with QEMU's own virtio-gpu-pci (two heads): gs_qemu_ui
# sends SetDesktopSize to QEMU's VNC server of each head, and, when QEMU has
# its D-Bus display, SetUIInfo over QMP + D-Bus; the Linux guest's DRM
# connectors must follow. This checks the QEMU UI path end to end without our
# backend (QEMU answers GET_DISPLAY_INFO itself here).
. "$(dirname "$0")/lib-hotplug.sh"

hp_init
hp_prepare_guest

args=(-machine q35 -device virtio-gpu-pci,id=gpu0,max_outputs=2
	-vnc "unix:$HP_TMP/vnc0.sock,display=gpu0,head=0"
	-vnc "unix:$HP_TMP/vnc1.sock,display=gpu0,head=1,id=vnc1")
dbus=0
if hp_has_display dbus; then
	dbus=1
	args+=(-display dbus,p2p=yes -qmp "unix:$HP_TMP/qmp.sock,server=on,wait=off")
else
	echo "note: QEMU has no D-Bus display (qemu-system-modules-opengl); VNC only"
	args+=(-display none)
fi
hp_start_qemu guest "${args[@]}"

# QEMU's virtio-gpu starts with head 0 at 1280x800 and head 1 off.
hp_wait_state "Virtual-1=connected:1280x800 Virtual-2=disconnected:" 180

vnc="vnc:$HP_TMP/vnc0.sock,$HP_TMP/vnc1.sock"
echo "== VNC (RFB SetDesktopSize)"
hp_step "$vnc" 1:1024x768 "Virtual-1=connected:1280x800 Virtual-2=connected:1024x768"
hp_step "$vnc" 0:off "Virtual-1=disconnected: Virtual-2=connected:1024x768"
# QEMU's console still holds 0x0 from the last step's target: only the decoy
# makes a repeated "off" an event, so first come back on.
hp_step "$vnc" 0:800x600 "Virtual-1=connected:800x600 Virtual-2=connected:1024x768"
hp_step "$vnc" 1:off "Virtual-1=connected:800x600 Virtual-2=disconnected:"

if [ $dbus = 1 ]; then
	qmp="qmp:$HP_TMP/qmp.sock"
	echo "== QMP + D-Bus (SetUIInfo)"
	hp_step "$qmp" 0:off "Virtual-1=disconnected: Virtual-2=disconnected:"
	hp_step "$qmp" 1:640x480 "Virtual-1=disconnected: Virtual-2=connected:640x480"
	hp_step "$qmp" 0:1024x768 "Virtual-1=connected:1024x768 Virtual-2=connected:640x480"
fi
echo "PASS"
