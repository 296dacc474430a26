#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One real QEMU guest runs `pattern` on vhost-user-gpu → gpu-server composes
# its scanout into a zone → zone-client (headless) receives, CRC-verifies and
# writes last.png, whose 8 bars must be exact.
source "$(dirname "$0")/lib.sh"
e2e_init
W=${W:-1024} H=${H:-600}
cat >"$E2E_TMP/zonal.ini" <<INI
[server]
control=127.0.0.1:0

[guest g0]
vhost-user=$E2E_TMP/g0.sock

[zone z]
mode=${W}x${H}@60
layer=g0:0 0,0 ${W}x${H}
INI
e2e_start_server "$E2E_TMP/zonal.ini"
e2e_read_port
e2e_start_guest g0 "$E2E_TMP/g0.sock" --app pattern
e2e_wait_for "grep -q 'starting app pattern' '$E2E_TMP/guest-g0.log' 2>/dev/null" 120 "the guest app to start"

# 60 presented frames: the first is the zone's key frame, the rest are the
# guest's page flips, so the last one shows the guest's pattern.
timeout 120 "$ZONE_CLIENT" -s "127.0.0.1:$port" -z z -b headless -o "$E2E_TMP/out" -n 60 \
	--stats "$E2E_TMP/stats.json" >"$E2E_TMP/zone-client.log" 2>&1 ||
	die "zone-client failed ($?)"
e2e_check_stats "$E2E_TMP/stats.json" 60
"$E2E_SRC/tools/check-pattern" "$E2E_TMP/out/last.png" || die "pattern check failed"
grep -q "${W}x${H}" "$E2E_TMP/guest-g0.log" || die "guest did not use the offered ${W}x${H} mode"
echo "PASS"
