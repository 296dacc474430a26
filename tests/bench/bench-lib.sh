# SPDX-License-Identifier: MIT
# Sourced (bash) by the benchmarks that start their own processes per run
# (qemu-vnc.sh, scaling.sh): pids to stop, stop_all (between runs and at
# exit), fail, wait_for, ticks. Set LIB_NAME first (for messages).
pids=()
stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
trap stop_all EXIT
fail() { echo "$LIB_NAME: $*" >&2; exit 1; }
# wait_for SECONDS CMD...: until CMD succeeds (start-up readiness only).
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.1
	done
}
TCK=$(getconf CLK_TCK)
# ticks PID: CPU ticks (user + system) of a process so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
