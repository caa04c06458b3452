#!/usr/bin/env bash
# Copies the header-only dependencies and GoogleTest's sources into .deps/ (git-ignored)
# so that a machine without the Debian packages (the GPU machine) can build with
#   cmake -DTDSEG_DEPS_DIR=.deps ...
# Run here, where tools/install_deps.sh has put them; ~7 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
rm -rf .deps && mkdir -p .deps
cp -r /usr/include/nlohmann .deps/nlohmann
cp -r /usr/include/stb .deps/stb
cp -r /usr/src/googletest .deps/googletest
du -sh .deps
