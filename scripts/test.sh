#!/bin/bash
# Quick start, part 2: runs every test. Installs what the tests need (as root on Debian 12),
# then: the sanitizer build (ASan+UBSan: unit, parser, corpus and end-to-end smoke tests),
# the libFuzzer build (each target for CTYS_FUZZ_SECONDS, default 15), and last the whole
# suite (ctest) of the normal build, whose summary ends the output.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
. scripts/deps.sh
ctys_apt_install $CTYS_BUILD_DEPS $CTYS_RUN_DEPS $CTYS_TEST_DEPS || exit 1
jobs=$(nproc)
fuzz_seconds=${CTYS_FUZZ_SECONDS:-15}
status=0

step() { printf '\n=== %s\n' "$*"; }

step "build (warnings are errors)"
cmake -S . -B build -DCTYS_WERROR=ON >/dev/null && cmake --build build -j"$jobs" >/dev/null || {
	cmake --build build 2>&1 | tail -30; exit 1; }
tests/guest/build.sh build/guest || exit 1

step "AddressSanitizer + UBSan: unit, parser, corpus and smoke tests"
cmake -S . -B build-asan -DCTYS_SANITIZE=ON -DCTYS_WERROR=ON -DCTYS_GUEST_DIR="$top/build/guest" \
	>/dev/null && cmake --build build-asan -j"$jobs" >/dev/null || { echo "asan build failed"; exit 1; }
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	ctest -j"$jobs" -L 'unit|smoke' --output-on-failure 2>&1 | tail -n 25) || status=1

step "libFuzzer (clang, ${fuzz_seconds}s per target)"
CC=clang cmake -S . -B build-fuzz -DCTYS_FUZZ=ON -DCTYS_SANITIZE=ON -DCTYS_FUZZ_SECONDS="$fuzz_seconds" \
	-DCTYS_GUEST_DIR="$top/build/guest" >/dev/null && cmake --build build-fuzz -j"$jobs" >/dev/null ||
	{ echo "fuzz build failed"; exit 1; }
(cd build-fuzz && ctest -j"$jobs" -L fuzz --output-on-failure 2>&1 | tail -n 12) || status=1

step "the whole suite"
cd build && ctest -j"$jobs" --output-on-failure || status=1
exit $status
