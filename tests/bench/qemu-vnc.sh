#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench "vnc": this project against qemu-vnc (QEMU's own virtio-gpu-pci
# and its VNC server), on the same guest content: one TCG guest running
# guest/pattern at 1920x720, 30 flips a second, with -m: each frame carries
# its number in pixels, and the guest writes "F<n>" on its second serial
# port as the flip is queued. rfb-latency timestamps those lines as they
# reach the host: the guest's flip on the host's clock, for both systems.
#
#   virtio-zonal-tiles: vhost-user-gpu-pci -> gpu-server (zone 1920x720@30,
#     tiles) -> loopback -> zone-client headless. A frame's latency is its
#     present (--present-log) minus the marker of the guest frame it shows
#     (the last marker at most 5 ms after the server read the flush).
#   qemu-vnc: virtio-gpu-pci + -vnc (TCP, loopback) -> rfb-latency, an RFB
#     client asking for the next update as each one completes (zlib). A
#     frame's latency is the first update showing its number minus its
#     marker.
#
# The marker travels through the guest's tty layer and serial port: it
# reaches the host ~1-2 ms after the flip (ours reports the median of its
# arrival after gpu-server read the same frame's flush). Both systems are
# timed from it, so their difference is exact; each latency is short by that
# delay (below it, ours can even come out negative).
#
# Workloads (pattern -w): small-damage (a 16x16 square moves; with the
# frame-number strip, 400x16 pixels change), full-frame (every pixel), idle
# (nothing after the first frame). Per run: WARMUP s after the first
# marker, then SECONDS_RUN s measured. CPU per frame: the display side's
# threads (gpu-server + zone-client + QEMU's non-vCPU threads for ours;
# QEMU's non-vCPU threads + the RFB client for qemu-vnc), per guest frame
# (per frame interval when idle). Bytes per frame: what the client
# received; wire bytes per frame: what the link carries both ways at the IP
# layer (ours: + 28 B of IPv4 and UDP per datagram and the client's RTCP;
# qemu-vnc: + 52 B of IPv4 and TCP per segment, the server's as a 1500-byte
# MTU cuts its updates, the client's requests and ACKs as TCP_INFO counts
# them). Prints one `vnc-result: {json}` line per run.
# usage: qemu-vnc.sh BUILD_DIR OUT_DIR
set -euo pipefail
BUILD=$1 OUT=$2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
RFB=$BUILD/tests/bench/rfb-latency
FPS=30 W=1920 H=720
WARMUP=${VNC_WARMUP:-3} SECONDS_RUN=${VNC_SECONDS:-10}
WORKLOADS=${WORKLOADS:-small-damage full-frame idle}
mkdir -p "$OUT"
LIB_NAME=qemu-vnc
. "$(dirname "$0")/bench-lib.sh"

# CPU ticks of QEMU's threads but the vCPU ones.
qemu_ticks() {
	local t=0 f comm
	for f in /proc/"$1"/task/*/stat; do
		comm=$(sed 's/^[0-9]* (\(.*\)) .*/\1/' "$f" 2>/dev/null) || continue
		case "$comm" in "CPU "*) continue ;; esac
		t=$((t + $(sed 's/^.*) //' "$f" | awk '{print $12 + $13}')))
	done
	echo $t
}

mode_for() {
	case $1 in small-damage) echo small ;; full-frame) echo full ;; idle) echo idle ;; esac
}

run_ours() { # workload
	local work=$1 d=$OUT/ours-$1
	rm -rf "$d"
	mkdir -p "$d"
	cat >"$d/zonal.ini" <<INI
[server]
control=127.0.0.1:0

[guest g]
vhost-user=$d/g.sock

[zone z]
mode=${W}x${H}@$FPS
layer=g:0 0,0 ${W}x${H}
codec=tiles
INI
	"$BUILD/gpu-server/gpu-server" -c "$d/zonal.ini" >"$d/gpu-server.log" 2>&1 &
	local gs=$!
	pids+=($gs)
	wait_for 10 grep -q "gpu-server ready" "$d/gpu-server.log" || fail "gpu-server did not start ($d)"
	local port
	port=$(sed -n 's/.*control: listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$d/gpu-server.log" | head -1)
	"$BUILD/zone-client/zone-client" -s "127.0.0.1:$port" -z z -b headless --stats "$d/stats.json" \
		--present-log "$d/present.log" >"$d/zone-client.log" 2>&1 &
	local zc=$!
	pids+=($zc)
	nice -n 10 "$SRC/tools/guest-vm" --vhost-user "$d/g.sock" --app pattern \
		--app-args "-w $(mode_for "$work") -r $FPS -m /dev/ttyS1 -s 5" --log "$d/guest.log" \
		--qemu-arg=-chardev --qemu-arg="socket,id=mark,path=$d/mark.sock,server=on,wait=off" \
		--qemu-arg=-serial --qemu-arg=chardev:mark >"$d/guest-vm.log" 2>&1 &
	local vm=$!
	pids+=($vm)
	"$RFB" --markers "$d/mark.sock" --marker-log "$d/markers.log" --skip "$WARMUP" \
		--seconds "$SECONDS_RUN" --out "$d/rfb.json" >"$d/rfb.log" 2>&1 &
	local rfb=$!
	wait_for 200 test -s "$d/markers.log" || fail "no marker from the guest ($d/guest.log)"
	sleep "$WARMUP"
	local g0 z0 q0 g1 z1 q1
	g0=$(ticks $gs) z0=$(ticks $zc) q0=$(qemu_ticks $vm)
	kill -USR1 $zc
	sleep "$SECONDS_RUN"
	cp "$d/stats.json" "$d/stats0.json" 2>/dev/null || fail "no stats snapshot"
	g1=$(ticks $gs) z1=$(ticks $zc) q1=$(qemu_ticks $vm)
	kill -USR1 $zc
	wait $rfb || fail "rfb-latency (markers) failed: $(cat "$d/rfb.log")"
	sleep 0.5
	wait_for 5 test "$d/stats.json" -nt "$d/stats0.json" || true
	kill -TERM $zc
	wait $zc || true
	stop_all
	/usr/bin/python3 - "$d" "$work" "$(((g1 - g0) * 1000 / TCK))" "$(((z1 - z0) * 1000 / TCK))" \
		"$(((q1 - q0) * 1000 / TCK))" "$FPS" "$SECONDS_RUN" <<'PY'
import bisect, json, sys
d, work = sys.argv[1], sys.argv[2]
cpu_gs, cpu_zc, cpu_qemu = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
fps, secs = int(sys.argv[6]), float(sys.argv[7])
cpu_ms = cpu_gs + cpu_zc + cpu_qemu
rfb = json.load(open(d + "/rfb.json"))
markers = sorted((int(t), int(n)) for n, t in (l.split() for l in open(d + "/markers.log")))
mt = [t for t, _ in markers]
# Each frame shown shows the guest frame whose marker came last before the
# server read its flush (5 ms of slack: the flip may be queued, and its
# marker sent, a little before the kernel sends the flush).
lat, shown, late = [], set(), []
for line in open(d + "/present.log"):
    fid, t_present, t_flush, key, refresh = line.split()
    if refresh == "1":
        continue
    i = bisect.bisect_right(mt, int(t_flush) + 5000000) - 1
    if i < 0 or markers[i][1] in shown:
        continue
    shown.add(markers[i][1])
    lat.append((markers[i][0], (int(t_present) - markers[i][0]) / 1e6))
    late.append((markers[i][0] - int(t_flush)) / 1e6)
late.sort()
# Only frames flipped inside the window the marker reader counted.
vals = sorted(l for t, l in lat if rfb["t0_ns"] <= t < rfb["t1_ns"])
def pct(p):
    return round(vals[min(len(vals) - 1, int(p / 100 * (len(vals) - 1) + 0.5))], 3) if vals else None
s0, s1 = json.load(open(d + "/stats0.json")), json.load(open(d + "/stats.json"))
# Bytes and CPU are counted between the two stats snapshots (t_ns): per
# guest frame flipped in that window, not in the marker reader's (which
# is a little shorter: dividing by its count made each frame ~10% dearer).
frames = sum(1 for t in mt if s0["t_ns"] <= t < s1["t_ns"])
nbytes = s1["bytes_received"] - s0["bytes_received"]
# At the IP layer, both ways: + IPv4 and UDP headers (28 B) per datagram,
# and the client's RTCP.
d_ = lambda k: s1.get(k, 0) - s0.get(k, 0)
wire = nbytes + d_("bytes_sent") + 28 * (d_("packets_received") + d_("packets_sent"))
per = frames if work != "idle" else (s1["t_ns"] - s0["t_ns"]) / 1e9 * fps
print("vnc-result: " + json.dumps({"system": "virtio-zonal-tiles", "workload": work,
    "guest_frames": rfb["guest_frames"], "frames_shown": len(vals),
    "latency_p50_ms": pct(50), "latency_p99_ms": pct(99),
    "bytes_per_frame": round(nbytes / per, 1) if per else None,
    "wire_bytes_per_frame": round(wire / per, 1) if per else None,
    "cpu_ms_per_frame": round(cpu_ms / per, 3) if per else None,
    "cpu_ms_per_frame_parts": {"gpu-server": round(cpu_gs / per, 3), "zone-client": round(cpu_zc / per, 3),
        "qemu": round(cpu_qemu / per, 3)} if per else None,
    "flush_to_present_p50_ms": s1["latency_ms"]["p50"],
    # how much later the marker reached the host than gpu-server read the
    # flush of the same frame: the marker's own delay, which every latency
    # here (both systems') is short of
    "marker_after_flush_p50_ms": round(late[len(late) // 2], 3) if late else None}))
PY
}

run_vnc() { # workload
	local work=$1 d=$OUT/vnc-$1
	rm -rf "$d"
	mkdir -p "$d"
	# VNC over TCP on loopback, so that the client can count its segments
	# (wire bytes); a display number whose port is free now.
	local vport
	vport=$(/usr/bin/python3 -c 'import socket
for p in range(5950, 6000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()')
	nice -n 10 "$SRC/tools/guest-vm" --gpu virtio-gpu-pci --res ${W}x$H --qmp "$d/qmp.sock" --app pattern \
		--app-args "-w $(mode_for "$work") -r $FPS -m /dev/ttyS1 -s 5" --log "$d/guest.log" \
		--qemu-arg=-vnc --qemu-arg="127.0.0.1:$((vport - 5900))" \
		--qemu-arg=-chardev --qemu-arg="socket,id=mark,path=$d/mark.sock,server=on,wait=off" \
		--qemu-arg=-serial --qemu-arg=chardev:mark >"$d/guest-vm.log" 2>&1 &
	local vm=$!
	pids+=($vm)
	"$RFB" --markers "$d/mark.sock" --marker-log "$d/markers.log" --vnc "tcp:$vport" --skip "$WARMUP" \
		--seconds "$SECONDS_RUN" --out "$d/rfb.json" >"$d/rfb.log" 2>&1 &
	local rfb=$!
	wait_for 200 test -s "$d/markers.log" || fail "no marker from the guest ($d/guest.log)"
	sleep "$WARMUP"
	local c0 c1
	c0=$(qemu_ticks $vm)
	sleep "$SECONDS_RUN"
	c1=$(qemu_ticks $vm)
	wait $rfb || fail "rfb-latency failed: $(cat "$d/rfb.log")"
	stop_all
	/usr/bin/python3 - "$d" "$work" "$(((c1 - c0) * 1000 / TCK))" "$FPS" "$SECONDS_RUN" <<'PY'
import json, sys
d, work, cpu_ms, fps, secs = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
r = json.load(open(d + "/rfb.json"))
per = r["guest_frames"] if work != "idle" else secs * fps
cpu = cpu_ms + r["client_cpu_ms"]
l = r["latency_ms"]
print("vnc-result: " + json.dumps({"system": "qemu-vnc", "workload": work,
    "guest_frames": r["guest_frames"], "frames_shown": r["frames_shown"],
    "latency_p50_ms": l["p50"] if r["frames_shown"] else None,
    "latency_p99_ms": l["p99"] if r["frames_shown"] else None,
    "bytes_per_frame": round(r["bytes"] / per, 1) if per else None,
    "wire_bytes_per_frame": round(r["wire_bytes"] / per, 1) if per and r["wire_bytes"] >= 0 else None,
    "cpu_ms_per_frame": round(cpu / per, 3) if per else None}))
PY
}

for work in $WORKLOADS; do
	echo "qemu-vnc: $work: virtio-zonal-tiles" >&2
	run_ours "$work"
	echo "qemu-vnc: $work: qemu-vnc" >&2
	run_vnc "$work"
done
