#!/usr/bin/env bash
# Build and test on the GPU machine (no Debian packages, no network there). Run from the
# repository root through the device tool, carrying .deps (made by tools/gather_deps.sh):
#   tools/gpu_check.sh            logs go to $OUT (or ./gpu-logs)
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
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DTDSEG_CUDA=ON \
  -DTDSEG_DEPS_DIR="$PWD/.deps" -DCMAKE_CUDA_ARCHITECTURES=90 "${extra[@]}" >"$out/configure.log" 2>&1 \
  && cmake --build build-gpu -j16 >"$out/build.log" 2>&1 \
  && ctest --test-dir build-gpu --output-on-failure -j8 >"$out/ctest.log" 2>&1
rc=$?
build-gpu/tdseg devices >"$out/devices.txt" 2>&1
tail -3 "$out"/*.log
exit $rc
