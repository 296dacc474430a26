#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# zone-client --media-port P --advertise HOST:A: the server sends media to A
# (here a forwarder standing in for a NAT or relay, which passes them on to
# P), not to the client's own port; RTCP still goes straight to the server.
# The server takes advertised addresses only from clients that proved its
# key (default advertise=auth): without a key-file it refuses them.
# Usage: advertise.sh GPU_SERVER ZONE_CLIENT
set -euo pipefail
GS=$1 ZC=$2
HERE=$(cd "$(dirname "$0")" && pwd)
LIB_NAME=advertise
. "$HERE/server-lib.sh"
umask 077
python3 -c 'import os; print(os.urandom(32).hex())' >"$T/key"
free_udp() { python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"; }
A=$(free_udp)
P=$(free_udp)
# The forwarder: datagrams to A go on to P; counts them.
python3 - "$A" "$P" "$T/forwarded" <<'PY' &
import signal, socket, sys
a, p, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", a))
s.settimeout(0.2)
open(out + ".ready", "w").close()
n = 0
def stop(*_):
    open(out, "w").write(str(n))
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    try:
        d = s.recv(65536)
    except socket.timeout:
        continue
    s.sendto(d, ("127.0.0.1", p))
    n += 1
PY
fwd=$!
pids+=($fwd)
wait_for 30 test -e "$T/forwarded.ready" || fail "the forwarder did not start"

start_server "$T/key"
set +e
timeout 20 "$ZC" -s "127.0.0.1:$PORT" -z z -n 20 --key-file "$T/key" --media-port "$P" \
	--advertise "127.0.0.1:$A" --stats "$T/stats.json" >"$T/zone-client.log" 2>&1
rc=$?
set -e
[ $rc = 0 ] || fail "zone-client with --advertise: exit $rc"
grep -q '"frames_presented": 20' "$T/stats.json" || fail "no frames"
grep -q "media to 127.0.0.1:$A" "$T/gpu-server.log" || fail "the server did not send to the advertised address"
stop_server
kill -TERM $fwd
wait $fwd || true
pids=()
n=$(cat "$T/forwarded")
[ "$n" -ge 20 ] || fail "only $n datagrams went through the forwarder"
echo "advertised: 20 frames through the forwarder ($n datagrams)"

start_server
set +e
timeout 20 "$ZC" -s "127.0.0.1:$PORT" -z z -n 5 --advertise "127.0.0.1:$A" \
	>"$T/zone-client.log" 2>&1
rc=$?
set -e
[ $rc != 0 ] || fail "a keyless server took an advertised address"
grep -q "only from clients that prove its key" "$T/zone-client.log" || fail "client reason"
grep -q "advertised a media address: refused (no key-file)" "$T/gpu-server.log" || fail "server log"
echo "keyless server: advertised address refused"
stop_server
echo PASS
