#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two real QEMU guests render GL at once through gpu-server's one
# virglrenderer (Mesa's virgl driver in each guest: GL_RENDERER "virgl"),
# each into its own zone. Both zone clients run at the same time and must
# get exact bars plus the cube of their own guest: the guests use the same
# resource and context ids, and neither may see the other's.
source "$(dirname "$0")/lib.sh"
e2e_init
[ -x "$E2E_BUILD/guest/gles-pattern" ] || skip "gles-pattern not built (needs libgbm-dev libegl-dev libgles-dev)"
cat >"$E2E_TMP/zonal.ini" <<INI
[server]
control=127.0.0.1:0

[guest cluster]
vhost-user=$E2E_TMP/cluster.sock

[guest ivi]
vhost-user=$E2E_TMP/ivi.sock

[zone cockpit]
mode=800x480@60
layer=cluster:0 0,0 800x480

[zone rear]
mode=640x400@60
layer=ivi:0 0,0 640x400
INI
e2e_start_server "$E2E_TMP/zonal.ini"
e2e_read_port
e2e_start_guest cluster "$E2E_TMP/cluster.sock" --app gles-pattern --app-args "-s 5"
e2e_start_guest ivi "$E2E_TMP/ivi.sock" --app gles-pattern --app-args "-s 5"
for g in cluster ivi; do
	log=$E2E_TMP/guest-$g.log
	e2e_wait_for "grep -q 'gles-pattern: .* connector .* mode ' '$log' 2>/dev/null || grep -q 'exited with status' '$log' 2>/dev/null" 240 "guest $g's gles-pattern to set its mode"
	grep -q 'exited with status' "$log" && die "guest $g: gles-pattern exited"
	grep -q "gles-pattern: GL_RENDERER: virgl (" "$log" || die "guest $g does not render through virgl"
done

timeout 180 "$ZONE_CLIENT" -s "127.0.0.1:$port" -z cockpit -b headless -o "$E2E_TMP/out-cockpit" \
	-n 60 --stats "$E2E_TMP/stats-cockpit.json" >"$E2E_TMP/zone-client-cockpit.log" 2>&1 &
zc1=$!
timeout 180 "$ZONE_CLIENT" -s "127.0.0.1:$port" -z rear -b headless -o "$E2E_TMP/out-rear" \
	-n 60 --stats "$E2E_TMP/stats-rear.json" >"$E2E_TMP/zone-client-rear.log" 2>&1 &
zc2=$!
wait $zc1 || die "cockpit zone-client failed"
wait $zc2 || die "rear zone-client failed"
e2e_check_stats "$E2E_TMP/stats-cockpit.json" 60
e2e_check_stats "$E2E_TMP/stats-rear.json" 60
"$E2E_SRC/tools/check-pattern" --black-bar-any --require-content "$E2E_TMP/out-cockpit/last.png" ||
	die "cockpit (cluster guest) pattern wrong"
"$E2E_SRC/tools/check-pattern" --black-bar-any --require-content "$E2E_TMP/out-rear/last.png" ||
	die "rear (ivi guest) pattern wrong"
grep -q "800x480" "$E2E_TMP/guest-cluster.log" || die "cluster guest was not offered 800x480"
grep -q "640x400" "$E2E_TMP/guest-ivi.log" || die "ivi guest was not offered 640x400"
for g in cluster ivi; do
	e2e_wait_for "grep -q 'gles-pattern: .* flips, .* fps' '$E2E_TMP/guest-$g.log'" 30 "guest $g's frame-rate line"
	grep "gles-pattern: .* fps" "$E2E_TMP/guest-$g.log" | tail -1 | sed "s/^/$g: /"
done
echo "PASS"
