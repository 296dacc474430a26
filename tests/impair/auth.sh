#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The pre-shared key ([server] key-file=, zone-client --key-file): with the
# same key on both ends the zone's frames arrive; a wrong key, no key, or a
# key the server does not have are each refused by the side that finds out,
# with a clear reason on both ends, and no media goes out.
# Usage: auth.sh GPU_SERVER ZONE_CLIENT
set -euo pipefail
GS=$1 ZC=$2
HERE=$(cd "$(dirname "$0")" && pwd)
LIB_NAME=auth
. "$HERE/server-lib.sh"
umask 077
echo "# the car's key" >"$T/good.key"
python3 -c 'import os; print(os.urandom(32).hex())' >>"$T/good.key"
python3 -c 'import os; print(os.urandom(32).hex())' >"$T/other.key"

# client KEYFILE|"": runs zone-client for 5 frames; prints its exit status.
client() {
	local args=()
	[ -n "$1" ] && args=(--key-file "$1")
	set +e
	timeout 20 "$ZC" -s "127.0.0.1:$PORT" -z z -n 5 --stats "$T/stats.json" "${args[@]}" \
		>"$T/zone-client.log" 2>&1
	echo $?
	set -e
}

start_server "$T/good.key"
grep -q "zone clients must prove the key" "$T/gpu-server.log" || fail "no key announced"
rc=$(client "$T/good.key")
[ "$rc" = 0 ] || fail "same key: zone-client exit $rc"
grep -q '"frames_presented": 5' "$T/stats.json" || fail "same key: no frames"
grep -q "proved the key" "$T/gpu-server.log" || fail "same key: server did not log the proof"
echo "same key: 5 frames"

rc=$(client "$T/other.key")
[ "$rc" != 0 ] || fail "wrong key accepted"
grep -q "did not prove the key (wrong key)" "$T/zone-client.log" || fail "wrong key: client reason"
grep -q "wrong key\|did not prove" "$T/gpu-server.log" || true
echo "wrong key: refused by the client (the server's proof does not match)"

# A client that does not know the key but answers anyway (a forged proof):
# the server refuses it and says so.
python3 - "$PORT" <<'PY' || fail "forged proof"
import os, socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
zone = b"z"
hello = struct.pack("<IIIIIHH", 0x4c4e4f5a, 2, 0, 0, 0, 40000, len(zone)) + zone
hello += bytes([1, 0, 0, 0]) + os.urandom(16)
s.sendall(struct.pack("<IHH", len(hello), 1, 2) + hello)
def msg():
    h = b""
    while len(h) < 8:
        h += s.recv(8 - len(h))
    n, t, _ = struct.unpack("<IHH", h)
    b = b""
    while len(b) < n:
        b += s.recv(n - len(b))
    return t, b
t, w = msg()
assert t == 2 and len(w) >= 84 and w[32] == 1, (t, len(w))
s.sendall(struct.pack("<IHH", 32, 6, 2) + os.urandom(32))
t, e = msg()
assert t == 3 and struct.unpack("<I", e[:4])[0] == 7, (t, e)
print("forged proof: ERROR", e[6:].decode())
PY
grep -q "wrong key for zone z: refused" "$T/gpu-server.log" || fail "forged proof: server log"

rc=$(client "")
[ "$rc" != 0 ] || fail "no key accepted"
grep -q "this server needs its key" "$T/zone-client.log" || fail "no key: client reason"
grep -q "no key: refused" "$T/gpu-server.log" || fail "no key: server log"
echo "no key: refused by the server"
grep -q "client joined" "$T/gpu-server.log" && [ "$(grep -c 'joined zone z' "$T/gpu-server.log")" = 1 ] ||
	fail "a refused client joined the zone"
stop_server

start_server ""
grep -q "zone clients are not authenticated" "$T/gpu-server.log" || fail "no warning without a key"
rc=$(client "$T/good.key")
[ "$rc" != 0 ] || fail "a keyless server accepted by a client with a key"
grep -q "did not prove the key (it has no key-file)" "$T/zone-client.log" || fail "keyless server: client reason"
echo "server without a key: refused by the client"
rc=$(client "")
[ "$rc" = 0 ] || fail "no keys at all: exit $rc"
echo "no keys at all: works, with the server's warning"
stop_server
echo PASS
