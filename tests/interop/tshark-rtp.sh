#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Standards on the wire, as Wireshark sees them: while a zone streams to
# zone-client under 1 % loss (tests/impair/relay.py), tshark captures the
# media port on loopback and decodes it as RTP (-d udp.port==N,rtp): the
# media are RTP version 2, payload type 96, one SSRC, with the RFC 8285
# one-byte header extension; the RTCP is SR, RR, SDES, APP, and the NACKs
# the loss causes as RTPFB generic NACK. Needs root (capture) and tshark.
# Usage: tshark-rtp.sh GPU_SERVER ZONE_CLIENT
set -euo pipefail
GS=$1 ZC=$2
HERE=$(cd "$(dirname "$0")" && pwd)
command -v tshark >/dev/null || { echo "SKIP: no tshark"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: capturing needs root"; exit 77; }
LIB_NAME=tshark
. "$HERE/../impair/test-lib.sh"
python3 -c 'import socket; socket.socket().bind(("127.0.0.2", 0))' 2>/dev/null || { echo "SKIP: no 127.0.0.2"; exit 77; }
SPORT=$(free_port 127.0.0.2)
RPORT=$(free_port)
cat >"$T/gs.ini" <<EOT
[server]
control=127.0.0.2:$SPORT
vtest=$T/vtest.sock
[guest src]
vtest-app=zone-source
[zone z]
mode=128x64@60
layer=src:0 0,0 128x64
EOT
"$GS" -c "$T/gs.ini" >"$T/gpu-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$T/vtest.sock" ] && break; sleep 0.1; done
[ -S "$T/vtest.sock" ] || { grep -q "vtest is off" "$T/gpu-server.log" && { echo "SKIP: no renderer"; exit 77; }; fail "gpu-server"; }
MPORT=$(sed -n 's/.*zone z .*media on UDP port \([0-9]*\).*/\1/p' "$T/gpu-server.log")
[ -n "$MPORT" ] || fail "no media port in the log"
python3 "$HERE/../impair/relay.py" --listen "127.0.0.1:$RPORT" --server "127.0.0.2:$SPORT" \
	--loss 0.01 --seed 7 >"$T/relay.log" 2>&1 &
pids+=($!)
wait_for 30 grep -q listening "$T/relay.log" || fail "the relay did not start"
# The server's media port on either side of the relay: the same number.
tshark -i lo -f "udp port $MPORT" -d "udp.port==$MPORT,rtp" -w "$T/cap.pcap" \
	>"$T/tshark.log" 2>&1 &
ts=$!
pids+=($ts)
# tshark takes seconds to load on a slow machine: capture once it says so.
wait_for 60 grep -q "Capturing on" "$T/tshark.log" || fail "tshark did not start capturing"
"$ZC" -s "127.0.0.1:$RPORT" -z z --stats "$T/stats.json" >"$T/zone-client.log" 2>&1 &
zc=$!
pids+=($zc)
python3 "$HERE/../impair/zone-source.py" "$T/vtest.sock" --size 128x64 --frames 180 \
	>"$T/source.log" 2>&1 || fail "zone-source"
sleep 0.5 # the last RTCP on its way
kill -INT $ts
wait $ts || true
kill -TERM $zc
wait $zc || fail "zone-client exit"
tshark -r "$T/cap.pcap" -d "udp.port==$MPORT,rtp" -T fields -e rtp.version -e rtp.p_type \
	-e rtp.ssrc -e rtp.ext.rfc5285.id -e rtcp.pt -e rtcp.rtpfb.fmt -E separator=' ' \
	>"$T/fields.txt" 2>"$T/tshark-read.log" || fail "tshark could not read its capture"
python3 - "$T/fields.txt" <<'PY' || fail "decode check"
import collections, sys
rtp = collections.Counter()
ssrcs = set()
rtcp = collections.Counter()
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 3 and f[0] == "2" and f[1].isdigit():
        rtp[f[1]] += 1
        ssrcs.add(f[2])
    elif f:
        for pt in f[0].split(","):
            if pt.isdigit():
                rtcp[int(pt)] += 1
print("tshark: %d RTP packets (payload types %s, %d SSRC), RTCP %s" %
      (sum(rtp.values()), dict(rtp), len(ssrcs), dict(sorted(rtcp.items()))))
ok = rtp.get("96", 0) > 100 and set(rtp) == {"96"} and len(ssrcs) == 1
for pt, name in ((200, "SR"), (201, "RR"), (202, "SDES"), (204, "APP"), (205, "RTPFB NACK")):
    if not rtcp.get(pt):
        print("missing RTCP %s" % name)
        ok = False
sys.exit(0 if ok else 1)
PY
echo PASS
