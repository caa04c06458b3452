#!/usr/bin/env bash
# Fuzzes tdseg's file readers with libFuzzer (clang), AddressSanitizer and UBSan, in
# build-fuzz/: the coverage-guided search for a file that crashes a reader, makes it
# read memory it should not, leak, hang, or refuse with anything but a tdseg error naming
# the file (tests/fuzz/fuzz_input.h). Not part of CI.
#   tools/fuzz.sh [SECONDS] [TARGET...]    each target for SECONDS (default 300)
# Targets: image npy safetensors config checkpoint (default: all). The corpus grows in
# build-fuzz/corpus/TARGET (seeded by fuzz_seeds with valid files); a finding is written
# to build-fuzz/findings/TARGET/ and the script exits 1. Replay one with
# UBSAN_OPTIONS=suppressions=tests/fuzz/ubsan.supp build-fuzz/tests/fuzz/fuzz_TARGET FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
all=(image npy safetensors config checkpoint)
seconds=${1:-300}
[[ $# -gt 0 ]] && shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  if [[ " ${all[*]} " != *" $t "* ]]; then
    echo "tools/fuzz.sh: unknown target '$t' (${all[*]})" >&2
    exit 2
  fi
done
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
  echo "tools/fuzz.sh: SECONDS must be a number, got '$seconds'" >&2
  exit 2
fi
if ! command -v clang++ >/dev/null; then
  echo "tools/fuzz.sh: needs clang++ with libFuzzer (apt-get install clang)" >&2
  exit 2
fi
tools/install_deps.sh
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTDSEG_CUDA=OFF -DTDSEG_TESTS=OFF -DTDSEG_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)"
build-fuzz/tests/fuzz/fuzz_seeds build-fuzz/corpus  # the valid files every run starts from
status=0
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/findings/$t"
  echo "== fuzz_$t, $seconds s"
  # 2 GB of memory and 10 s an input: beyond either is a finding (a header that makes a
  # reader allocate what the file cannot hold, or a loop that does not end).
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=tests/fuzz/ubsan.supp \
    build-fuzz/tests/fuzz/fuzz_"$t" "build-fuzz/corpus/$t" -max_total_time="$seconds" \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -artifact_prefix="build-fuzz/findings/$t/" -print_final_stats=1 2>&1 |
    grep -v -E '^#[0-9]+.*(NEW|REDUCE|pulse)' || status=1
  ls -A "build-fuzz/findings/$t" | grep -q . && status=1
done
exit $status
