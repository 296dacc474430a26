#!/bin/sh
# SPDX-License-Identifier: MIT
# [server] render-node= that cannot be rendered on stops gpu-server with a
# clear error (exit status non-zero), never a quiet fall-back: a missing
# path, and a file that is no DRM render node (Mesa's GBM would take
# /dev/null and render with llvmpipe). This machine has no /dev/dri, so the
# GBM rendering itself is not exercised here; with a render node present, it
# is: the server must start on it.
# Usage: render-node.sh GPU_SERVER
set -u
GS=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zonal-rn.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
run() {
	cat > "$tmp/gs.ini" <<EOT
[server]
control=127.0.0.1:0
render-node=$1
[guest a]
vhost-user=$tmp/a.sock
[zone z]
mode=64x64
layer=a:0 0,0 64x64
EOT
	timeout 20 "$GS" -c "$tmp/gs.ini" > "$tmp/log" 2>&1 &
	pid=$!
	i=0
	while [ $i -lt 100 ] && kill -0 $pid 2>/dev/null && ! grep -q "gpu-server ready" "$tmp/log"; do
		sleep 0.1; i=$((i + 1))
	done
	if grep -q "gpu-server ready" "$tmp/log"; then
		kill $pid
	fi
	wait $pid
}
for bad in /nonexistent/renderD128 /dev/null; do
	run "$bad"
	rc=$?
	if [ $rc -eq 0 ] || ! grep -q "render-node=$bad: cannot render there" "$tmp/log"; then
		echo "FAIL: render-node=$bad: rc $rc"; cat "$tmp/log"; fail=1
	else
		grep "egl: render-node" "$tmp/log"
	fi
done
grep -q "not a DRM render node" "$tmp/log" || { echo "FAIL: /dev/null not called out"; fail=1; }
for node in /dev/dri/renderD*; do
	[ -c "$node" ] || continue
	run "$node"
	grep -q "virglrenderer on $node" "$tmp/log" || { echo "FAIL: $node"; cat "$tmp/log"; fail=1; }
done
[ $fail -eq 0 ] && echo PASS
exit $fail
