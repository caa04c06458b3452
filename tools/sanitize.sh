#!/usr/bin/env bash
# The CPU build and its tests under AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer, in build-sanitize/: every op, layer, file reader and command
# of the CPU path, any finding fatal. Not part of CI (9 min 35 s on two cores, build and
# tests, on 2026-11-26); run it after changing memory handling or a file format.
# Extra arguments go to ctest, e.g. tools/sanitize.sh -R Npy.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DTDSEG_CUDA=OFF -DTDSEG_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j "$(nproc)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-sanitize --output-on-failure -j "$(nproc)" "$@"
