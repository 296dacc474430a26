# SPDX-License-Identifier: MIT
# Sourced (sh) by tests that run vtest servers. Mesa 22.3's virpipe always
# connects to /tmp/.virgl_test, so such a test runs in a private mount
# namespace with a tmpfs on /tmp. The checkout may itself live under /tmp (CI
# clones there), which that tmpfs hides: the original /tmp stays reachable
# through a bind mount, and ns_path maps paths through it.
#
#   . "$(dirname "$0")/../vtest/ns-lib.sh"
#   ns_enter "$@"           # re-executes the script in the namespace (or exits 77)
#   GS=$(ns_path "$1")      # any path given before, made reachable
#   NS_SRC                  # the checkout, reachable

ns_abs() {
	case $1 in
	/*) echo "$1" ;;
	*) echo "$NS_CWD/$1" ;;
	esac
}

ns_enter() {
	if [ "${VTEST_IN_NS:-0}" != 1 ]; then
		unshare -m true 2>/dev/null || { echo "SKIP: unshare -m not permitted"; exit 77; }
		VTEST_IN_NS=1 NS_CWD=$PWD exec unshare -m sh "$0" "$@"
	fi
	NS_CWD=${NS_CWD:-$PWD}
	ns_src_abs=$(cd "$(dirname "$0")/../.." && pwd)
	NS_ORIG_TMP=/run/zonal-vtest-tmp.$$
	mkdir -p "$NS_ORIG_TMP" && mount --bind /tmp "$NS_ORIG_TMP" ||
		{ echo "SKIP: cannot bind-mount /tmp"; exit 77; }
	mount -t tmpfs tmpfs /tmp || { echo "SKIP: cannot mount tmpfs on /tmp"; exit 77; }
	cd / || exit 1
	NS_SRC=$(ns_path "$ns_src_abs")
}

ns_path() {
	p=$(ns_abs "$1")
	case $p in
	/tmp) echo "$NS_ORIG_TMP" ;;
	/tmp/*) echo "$NS_ORIG_TMP/${p#/tmp/}" ;;
	*) echo "$p" ;;
	esac
}

# Waits up to 10 s for gpu-server (pid $1, log $2) to open /tmp/.virgl_test;
# exits 77 if it has no renderer here, 1 if it failed otherwise.
ns_wait_vtest() {
	i=0
	while [ $i -lt 100 ] && [ ! -S /tmp/.virgl_test ]; do sleep 0.1; i=$((i + 1)); done
	[ -S /tmp/.virgl_test ] && return 0
	kill "$1" 2>/dev/null
	wait "$1"
	if grep -q "vtest is off" "$2"; then
		echo "SKIP: gpu-server has no renderer here"; cat "$2"; exit 77
	fi
	echo "FAIL: gpu-server did not open its vtest socket"; cat "$2"; exit 1
}
