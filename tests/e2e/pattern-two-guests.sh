#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two real QEMU guests side by side in one 1920x720 zone (1120x720 + 800x720
# layers). Each guest must be offered, and draw at, its own layer's size.
source "$(dirname "$0")/lib.sh"
e2e_init
cat >"$E2E_TMP/zonal.ini" <<INI
[server]
control=127.0.0.1:0

[guest left]
vhost-user=$E2E_TMP/left.sock

[guest right]
vhost-user=$E2E_TMP/right.sock

[zone cockpit]
mode=1920x720@60
layer=left:0 0,0 1120x720
layer=right:0 1120,0 800x720
INI
e2e_start_server "$E2E_TMP/zonal.ini"
e2e_read_port
e2e_start_guest left "$E2E_TMP/left.sock" --app pattern
e2e_start_guest right "$E2E_TMP/right.sock" --app pattern
for g in left right; do
	e2e_wait_for "grep -q 'starting app pattern' '$E2E_TMP/guest-$g.log' 2>/dev/null" 180 "guest $g's app to start"
done

timeout 180 "$ZONE_CLIENT" -s "127.0.0.1:$port" -z cockpit -b headless -o "$E2E_TMP/out" -n 80 \
	--stats "$E2E_TMP/stats.json" >"$E2E_TMP/zone-client.log" 2>&1 ||
	die "zone-client failed ($?)"
e2e_check_stats "$E2E_TMP/stats.json" 80
"$E2E_SRC/tools/check-pattern" "$E2E_TMP/out/last.png" --width-offset 0 --width 1120 ||
	die "left guest's pattern wrong"
"$E2E_SRC/tools/check-pattern" "$E2E_TMP/out/last.png" --width-offset 1120 --width 800 ||
	die "right guest's pattern wrong"
grep -q "1120x720" "$E2E_TMP/guest-left.log" || die "left guest was not offered 1120x720"
grep -q "800x720" "$E2E_TMP/guest-right.log" || die "right guest was not offered 800x720"
echo "PASS"
