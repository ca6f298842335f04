# Thin wrappers over scripts/ and CMake. `make demo` and `make test` work on a fresh Debian 12
# machine: they install missing packages first.
BUILD    ?= build
TYPE     ?= Release
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc)
CMAKE_ARGS ?=
ANVIL    := $(BUILD)/bin/anvil

.PHONY: all deps configure build test demo bench install asan-test gpu-check clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(TYPE) $(CMAKE_ARGS)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Each test's time lands in $(BUILD)/junit.xml (the slowest are listed in docs/testing.md).
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE cuda --output-junit junit.xml

# Only what the demo runs: `anvil` and the built-in plugins, not the test suite.
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target runtime
	@bash scripts/demo.sh $(ANVIL)

bench: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(TYPE) -DANVIL_BENCH=ON $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)
	@bash bench/run.sh $(BUILD)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The manifest, loader and fuzz tests under AddressSanitizer + UBSan (results: docs/testing.md).
asan-test: deps
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DANVIL_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build build-asan -j $(JOBS) --target test_sdk test_nn test_manifest test_manifest_fuzz test_plugin_loader test_data_input \
	  test_data_clean test_data_shards test_data_prepare anvil
	cd build-asan && ASAN_OPTIONS=detect_leaks=0 ctest --output-on-failure -L "sdk|manifest|loader|data"

# On a machine with a GPU and a CUDA LibTorch (see scripts/gpu-check.sh).
gpu-check:
	@bash scripts/gpu-check.sh

clean:
	rm -rf $(BUILD) build-asan
