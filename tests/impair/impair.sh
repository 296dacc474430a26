#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Transport under impairment: gpu-server → relay.py (impairs the media) →
# zone-client, with a vtest frame source (zone-source.py, 256x128 at 60 Hz,
# no VM). The impairment runs for a while, then stops; then:
#  - nothing crashed, both ends exit cleanly;
#  - every frame shown was whole and bit-exact: the client shows only frames
#    whose CRC32C matches (crc_mismatches counts the ones it refused), and the
#    frame it ends on is the source's last one, exactly;
#  - after the impairment it catches up: the first frame made after the end
#    (a guest frame, or a key frame it asked for) is shown within RECOVER_MS.
#    The default (500 ms) only catches a client that is stuck; the target
#    (2 frame intervals) is a number for `make bench`, which runs this with
#    RECOVER_MS unset and reports the recovery time of each scenario;
#  - refresh requests stay rate-limited: at most one per frame interval.
# Usage: impair.sh GPU_SERVER ZONE_CLIENT SCENARIO
#   SCENARIO: loss-0.1 loss-1 loss-5 burst reorder dup flip truncate oversize
#             blackout all, idle (no impairment; the source pauses 2 s:
#             the zone must not go stale, nothing changed), and qos (1 % loss
#             with priority=5 dscp=EF txtime=on pace=50: every datagram
#             arrives marked EF), srtp (a pre-shared key: media in SRTP;
#             flipped, cut and repeated datagrams fail it and are asked for)
#   CODEC (environment): the zone's codec=, tiles by default. raw is checked
#   like tiles (bit-exact); h264 and jpeg are lossy: the last frame must be
#   the source's within a small tolerance, and frames after a loss are
#   shown only once a key frame resynchronises the decoder.
#   SIZE: the zone's WxH (256x128); ZONE (environment): more [zone] lines;
#   MAX_FRAME_BYTES: fail if the client received more bytes per frame shown
#   (a max-bitrate= check).
set -euo pipefail
GS=$1 ZC=$2 SCENARIO=$3
HERE=$(cd "$(dirname "$0")" && pwd)
FPS=60
START=1 DURATION=3 AFTER=1.5
SOURCE_ARGS=()
CLIENT_EXTRA=()
ZONE_EXTRA=
KEYED=0
case $SCENARIO in
loss-0.1) IMPAIR=(--loss 0.001) ;;
loss-1) IMPAIR=(--loss 0.01) ;;
loss-5) IMPAIR=(--loss 0.05) ;;
burst) IMPAIR=(--loss 0.02 --burst 8) ;;
reorder) IMPAIR=(--reorder 0.05) ;;
dup) IMPAIR=(--dup 0.05) ;;
flip) IMPAIR=(--flip 0.02) ;;
truncate) IMPAIR=(--truncate 0.02) ;;
oversize) IMPAIR=(--oversize 0.02) ;;
blackout) IMPAIR=(--blackout); DURATION=5 ;;
idle) IMPAIR=(); SOURCE_ARGS=(--pause-at 90 --pause 2)
	# 2 s without frames but keepalives every 40 ms: not stale. 300 ms, not
	# the default 100, so a loaded machine's scheduling hiccup is not taken
	# for a silent server.
	CLIENT_EXTRA=(--stale-ms 300) ;;
qos) IMPAIR=(--loss 0.01); ZONE_EXTRA=$'priority=5\ndscp=EF\ntxtime=on\npace=50' ;;
srtp) IMPAIR=(--loss 0.01 --flip 0.02 --dup 0.02 --truncate 0.01); KEYED=1 ;;
all) IMPAIR=(--loss 0.01 --reorder 0.02 --dup 0.02 --flip 0.01 --truncate 0.01 --oversize 0.01) ;;
*) echo "unknown scenario $SCENARIO"; exit 2 ;;
esac
CODEC=${CODEC:-tiles}
SIZE=${SIZE:-256x128}
ZONE_EXTRA="codec=$CODEC
${ZONE:-}
$ZONE_EXTRA"
RECOVER_MS=${RECOVER_MS:-500}
# The server on another loopback address than the relay (see relay.py).
python3 -c 'import socket; socket.socket().bind(("127.0.0.2", 0))' 2>/dev/null ||
	{ echo "SKIP: no 127.0.0.2"; exit 77; }

LIB_NAME=impair
. "$HERE/test-lib.sh"
SPORT=$(free_port 127.0.0.2)
RPORT=$(free_port 127.0.0.1)

SERVER_KEY= CLIENT_KEY=()
if [ "$KEYED" = 1 ]; then
	(umask 077; python3 -c 'import os; print(os.urandom(32).hex())' >"$T/key")
	SERVER_KEY="key-file=$T/key"
	CLIENT_KEY=(--key-file "$T/key")
fi
cat >"$T/gs.ini" <<EOT
[server]
control=127.0.0.2:$SPORT
vtest=$T/vtest.sock
$SERVER_KEY
[guest src]
vtest-app=zone-source
[zone z]
mode=$SIZE@$FPS
layer=src:0 0,0 $SIZE
$ZONE_EXTRA
EOT
"$GS" -c "$T/gs.ini" >"$T/gpu-server.log" 2>&1 &
gs=$!
pids+=($gs)
for _ in $(seq 100); do [ -S "$T/vtest.sock" ] && break; sleep 0.1; done
if [ ! -S "$T/vtest.sock" ]; then
	grep -q "vtest is off" "$T/gpu-server.log" && { echo "SKIP: no renderer here"; exit 77; }
	fail "gpu-server did not start"
fi
python3 "$HERE/relay.py" --listen "127.0.0.1:$RPORT" --server "127.0.0.2:$SPORT" \
	--start "$START" --duration "$DURATION" "${IMPAIR[@]}" --summary "$T/relay.json" \
	>"$T/relay.log" 2>&1 &
relay=$!
pids+=($relay)
wait_for 30 grep -q listening "$T/relay.log" || fail "the relay did not start"
"$ZC" -s "127.0.0.1:$RPORT" -z z -o "$T/out" --stats "$T/stats.json" \
	--present-log "$T/presents.txt" "${CLIENT_KEY[@]}" "${CLIENT_EXTRA[@]}" \
	>"$T/zone-client.log" 2>&1 &
zc=$!
pids+=($zc)
for _ in $(seq 100); do grep -q "client joined" "$T/gpu-server.log" && break; sleep 0.1; done
grep -q "client joined" "$T/gpu-server.log" || fail "the client did not join"

frames=$(python3 -c "print(int($FPS * ($START + $DURATION + $AFTER)))")
timeout 60 python3 "$HERE/zone-source.py" "$T/vtest.sock" --fps "$FPS" --frames "$frames" \
	--log "$T/source.txt" --size "$SIZE" "${SOURCE_ARGS[@]}" >"$T/source.log" 2>&1 ||
	fail "zone-source failed"
# Until the source's last frame (the only one flushed after its second to
# last present) is shown, or 10 s: a slow machine gets there later.
last_shown() {
	local t
	t=$(tail -2 "$T/source.txt" | head -1 | cut -d' ' -f2)
	[ "$(tail -1 "$T/presents.txt" 2>/dev/null | cut -d' ' -f3)" -gt "$t" ] 2>/dev/null
}
wait_for 10 last_shown || true # the checks below say what is wrong
sleep 0.2
kill -TERM $relay $zc
wait $zc || fail "zone-client exited with $?"
wait $relay || true
kill -TERM $gs
wait $gs || fail "gpu-server exited with $?"
pids=()

python3 - "$T" "$RECOVER_MS" "$DURATION" "$HERE/../../tools" "$FPS" "$SCENARIO" "$CODEC" \
	"${MAX_FRAME_BYTES:-0}" <<'PY' || fail "checks"
import json, sys
T, recover_ms, duration, tools = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
fps = float(sys.argv[5])
codec = sys.argv[7]
# Lossless codecs end exactly on the source's frame; lossy ones near it.
tolerance = 0 if codec in ("tiles", "raw") else 8
sys.path.insert(0, tools)
from zonal_image import read_image
st = json.load(open(T + "/stats.json"))
rl = json.load(open(T + "/relay.json"))
pres = [tuple(int(v) for v in l.split()) for l in open(T + "/presents.txt")]
src = [tuple(int(v) for v in l.split()) for l in open(T + "/source.txt")]
print("relay:", json.dumps(rl))
print("client: presented %d (key %d), dropped %d, crc mismatches %d, refresh requests %d, "
      "NACKed %d, packets %d received %d rejected" % (st["frames_presented"], st["key_frames"],
      st["frames_dropped"], st["crc_mismatches"], st["refresh_requests"], st["nack_requests"],
      st["packets_received"], st["packets_rejected"]))
ok = True
def bad(msg):
    global ok
    ok = False
    print("FAIL: " + msg)
if not rl["t_end_ns"]:
    bad("the impairment never ended")
# The last frame shown is the source's last one, exactly.
img = read_image(T + "/out/last.png")
want = (0x3c, 0x5a, 0x78)
wrong = sum(1 for y in range(img.height) for x in range(img.width)
            if max(abs(a - b) for a, b in zip(img.pixel(x, y), want)) > tolerance)
if wrong:
    bad("the last frame shown is not the source's last frame (%d pixels differ by more than %d)"
        % (wrong, tolerance))
# Recovery: the first frame made after the end (captured then, or a refresh
# the server made then) is shown within recover_ms.
t_end = rl["t_end_ns"]
after = [p for p in pres if p[2] >= t_end]
if not after:
    bad("nothing shown after the impairment ended")
else:
    rec = (after[0][1] - t_end) / 1e6
    sent_after = sum(1 for s in src if s[1] >= t_end)
    print("recovery: first frame made after the end shown %.1f ms after it "
          "(limit %.1f); %d of %d frames sent after the end shown" %
          (rec, recover_ms, len(after), sent_after))
    if rec > recover_ms:
        bad("recovery took %.1f ms > %.1f ms" % (rec, recover_ms))
    print("impair-result: " + json.dumps({"scenario": sys.argv[6], "codec": codec, "recovery_ms": round(rec, 1),
        "target_ms": round(2000 / fps, 1), "frames_presented": st["frames_presented"],
        "frames_dropped": st["frames_dropped"], "crc_mismatches": st["crc_mismatches"],
        "refresh_requests": st["refresh_requests"], "nack_requests": st["nack_requests"],
        "datagrams_impaired": sum(rl[k] for k in ("lost", "reordered", "duplicated", "flipped",
            "truncated", "oversized", "blacked_out"))}))
    if len(after) < 0.9 * sent_after:
        bad("only %d of %d frames after the impairment were shown" % (len(after), sent_after))
# Staleness: a blackout is noticed and cleared; an idle source is not stale;
# at the end nothing is stale.
stale = st["stale"]
print("stale: %d events, %.0f ms in all, longest %.0f ms" % (stale["events"], stale["total_ms"],
      stale["max_ms"]))
if stale["now"]:
    bad("the zone is still stale at the end")
if sys.argv[6] == "blackout" and (stale["events"] < 1 or stale["max_ms"] < 1000 * duration - 500):
    bad("a %.0f s blackout but stale only %.0f ms" % (duration, stale["max_ms"]))
if sys.argv[6] == "idle" and stale["events"]:
    bad("an idle source made the zone stale")
if sys.argv[6] == "srtp":
    # Damaged and duplicated datagrams fail SRTP and are dropped before
    # anything else sees them; the losses that makes are asked for again.
    print("srtp: %d datagrams rejected" % st["srtp_rejected"])
    if st["srtp_rejected"] == 0:
        bad("flipped, truncated and duplicated datagrams passed SRTP")
    if st["crc_mismatches"]:
        bad("a damaged datagram reached the frame check (SRTP should have refused it)")
if sys.argv[6] == "qos" and rl["dscp_seen"] != [46]:
    bad("datagrams arrived with DSCP %s, want [46] (EF)" % rl["dscp_seen"])
max_bytes = int(sys.argv[8])
per_frame = st["bytes_received"] / max(st["frames_presented"], 1)
print("bytes per frame shown: %.0f" % per_frame)
if max_bytes and per_frame > max_bytes:
    bad("%.0f bytes per frame, more than %d" % (per_frame, max_bytes))
# Refresh requests: at most one per frame interval of impairment, plus a few.
limit = duration * fps + 5
if st["refresh_requests"] > limit:
    bad("%d refresh requests in %.0f s (limit %d)" % (st["refresh_requests"], duration, limit))
sys.exit(0 if ok else 1)
PY
echo PASS
