# SPDX-License-Identifier: MIT
# The front door. Meson does the build underneath.
#   make          build (build/gpu-server/gpu-server, build/zone-client/zone-client)
#   make check    install missing Debian packages (as root), build, run every test
#   make demo     two GL guests, cockpit + rear-seat zones; headless: a contact sheet PNG
#   make bench    benchmarks: zone latency, GL guest fps, vtest vs virgl_test_server
#   make piglit   piglit subset: gpu-server's vtest vs virgl_test_server (docs/piglit.md)
BUILD ?= build
SAN_BUILD ?= build-san
FUZZ_BUILD ?= build-fuzz
MESON ?= meson

.PHONY: all deps build check check-unit check-san check-fuzz demo bench piglit clean

all: build

deps:
	@tools/install-deps

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(SAN_BUILD)/build.ninja:
	$(MESON) setup -Db_sanitize=address,undefined -Db_lundef=false $(SAN_BUILD)

$(FUZZ_BUILD)/build.ninja:
	CC=clang $(MESON) setup -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false $(FUZZ_BUILD)

# Everything: unit + e2e in the normal build, unit again under ASan+UBSan,
# every fuzz target for a short libFuzzer run. Ends with "N passed, N failed, N skipped".
check: deps
	@tests/run-all

demo: deps build
	@tools/demo

bench: deps build
	@tests/bench/run

# PIGLIT_ARGS: e.g. --max 50, or --profile quick_gl for a full run.
piglit: deps build
	@tests/piglit/run $(PIGLIT_ARGS) $(BUILD)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)
