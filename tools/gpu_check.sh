#!/usr/bin/env bash
# Build and test on the GPU machine (no Debian packages, no network there). Run from the
# repository root through the device tool, carrying .deps (made by tools/gather_deps.sh):
#   tools/gpu_check.sh [STAGE...]   logs go to $OUT (or ./gpu-logs)
# Stages (default: build test): build; test (all of ctest); sanitize (the GPU tests under
# compute-sanitizer memcheck and racecheck); bench (tdseg bench ops, std and step);
# reference (the PyTorch check of the STD blocks and the timm weight-import check).
# Each run call has 10 minutes: split the stages over calls when the build is cold.
# Finds cuDNN in /usr/local/cuda or in the nvidia-cudnn pip wheel of the machine's Python.
set -uo pipefail
out=${OUT:-gpu-logs}
mkdir -p "$out"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  nvcc --version | tail -1
} >"$out/machine.txt" 2>&1
cudnn_root=""
if ! ls /usr/local/cuda/include/cudnn.h >/dev/null 2>&1; then
  cudnn_root=$(python3 -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))" 2>/dev/null)
fi
extra=()
if [ -n "$cudnn_root" ]; then
  extra+=(-DCUDNN_INCLUDE_DIR="$cudnn_root/include" -DCUDNN_LIBRARY="$(ls "$cudnn_root"/lib/libcudnn.so* | head -1)")
  export LD_LIBRARY_PATH="$cudnn_root/lib:${LD_LIBRARY_PATH:-}"
fi
echo "cuDNN root: ${cudnn_root:-/usr/local/cuda}" >>"$out/machine.txt"
stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(build test)
gpu_tests='CachingAllocator*:DeviceTensor*:Gpu*'
rc=0
for stage in "${stages[@]}"; do
  case $stage in
    build)
      cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DTDSEG_CUDA=ON \
        -DTDSEG_CUDA_EMULATOR=OFF -DTDSEG_DEPS_DIR="$PWD/.deps" -DCMAKE_CUDA_ARCHITECTURES=90 "${extra[@]}" >"$out/configure.log" 2>&1 \
        && cmake --build build-gpu -j16 >"$out/build.log" 2>&1 || rc=1 ;;
    test)
      ctest --test-dir build-gpu --output-on-failure -j8 >"$out/ctest.log" 2>&1 || rc=1 ;;
    sanitize)
      # Uncached allocations, so that memcheck sees each tensor's own bounds.
      for tool in memcheck racecheck; do
        TDSEG_CUDA_CACHING=0 compute-sanitizer --tool $tool --error-exitcode 1 build-gpu/tests/tdseg_tests \
          --gtest_filter="$gpu_tests" >"$out/$tool.log" 2>&1 || rc=1
      done ;;
    bench)
      build-gpu/tdseg bench ops >"$out/bench_ops.txt" 2>&1 || rc=1
      build-gpu/tdseg bench std >"$out/bench_std.txt" 2>&1 || rc=1
      build-gpu/tdseg bench step >"$out/bench_step.txt" 2>&1 || rc=1 ;;
    reference)
      python3 tools/torch_reference/std_reference.py --tdseg build-gpu/tdseg \
        >"$out/torch_reference.txt" 2>&1 || rc=1
      tools/check_timm_import.sh build-gpu/tdseg >"$out/timm_import.txt" 2>&1 || rc=1 ;;
    *) echo "gpu_check.sh: unknown stage '$stage'" >&2; exit 2 ;;
  esac
done
build-gpu/tdseg devices >"$out/devices.txt" 2>&1
tail -n 3 "$out"/*.log "$out"/*.txt 2>/dev/null
exit $rc
