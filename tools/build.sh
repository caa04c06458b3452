#!/usr/bin/env bash
# Installs what a fresh machine lacks, configures and builds tdseg into build/.
# Extra arguments go to CMake's configure step, e.g. tools/build.sh -DTDSEG_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j "$(nproc)"
