#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A zone client connecting or leaving is a panel plugged in or out: the guest
# behind the zone gets VIRTIO_GPU_EVENT_DISPLAY (through QEMU's D-Bus display,
# docs/hotplug.md) and sees its connector connected or disconnected, from a
# real Linux virtio-gpu driver's point of view.
source "$(dirname "$0")/lib.sh"
e2e_init
qemu-system-x86_64 -display help 2>/dev/null | grep -qx dbus ||
	skip "QEMU has no D-Bus display (package qemu-system-modules-opengl)"
cat >"$E2E_TMP/zonal.ini" <<INI
[server]
control=127.0.0.1:0

[guest g0]
vhost-user=$E2E_TMP/g0.sock
qemu-ui=qmp:$E2E_TMP/g0.qmp
; QEMU's D-Bus display refuses a virgl device without a GL context (a DRM
; render node), which this machine lacks: the guest is 2D here.
gl=off

[zone z]
mode=800x480@60
layer=g0:0 0,0 800x480
INI
e2e_start_server "$E2E_TMP/zonal.ini"
e2e_read_port
e2e_start_guest g0 "$E2E_TMP/g0.sock" --app pattern --qemu-ui "$E2E_TMP/g0.qmp"
glog=$E2E_TMP/guest-g0.log
# No client yet: the guest's connector is disconnected and pattern waits.
e2e_wait_for "grep -qs 'no connected connector' '$glog'" 120 "the guest to see no connected connector"

for round in 1 2; do
	timeout 120 "$ZONE_CLIENT" -s "127.0.0.1:$port" -z z -b headless -o "$E2E_TMP/out$round" -n 30 \
		--stats "$E2E_TMP/stats$round.json" >"$E2E_TMP/zone-client$round.log" 2>&1 ||
		die "zone-client round $round failed ($?)"
	e2e_check_stats "$E2E_TMP/stats$round.json" 30
	"$E2E_SRC/tools/check-pattern" "$E2E_TMP/out$round/last.png" || die "pattern wrong in round $round"
	[ "$(grep -c 'Virtual-1: connector .* mode 800x480' "$glog")" -ge "$round" ] ||
		die "guest did not see its connector connected at 800x480 (round $round)"
	# The client left: the connector goes away and pattern stops.
	e2e_wait_for "[ \$(grep -c 'stopping on crtc .*(disconnected)' '$glog') -ge $round ]" 60 \
		"the guest to see its connector disconnected (round $round)"
done
grep -q "connector connected" "$E2E_TMP/gpu-server.log" || die "server did not log the connect"
echo "PASS"
