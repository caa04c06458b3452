#!/usr/bin/env bash
# Build, test, sanitize and benchmark on the GPU machine (no Debian packages and no network
# there). Run from the repository root through the device tool, carrying .deps (made by
# tools/gather_deps.sh):
#   tools/gpu_check.sh STAGE...      e.g.  tools/gpu_check.sh build test bench-std
# Stages: build (Release, sm_90 only; a no-op when build-gpu is up to date); test (all of
# ctest); memcheck, racecheck (the GPU tests under compute-sanitizer, uncached allocations);
# bench-ops, bench-std, bench-step (tdseg bench ...); reference (the PyTorch check and timing
# of the STD blocks); timm (the timm weight-import check); versions (the kernel harnesses
# of tools/kernels/: versions of the STD iteration's kernels, checked and timed);
# sanitize-tile (those harnesses under memcheck and racecheck, at a small shape); profile
# (Nsight Compute on the bandwidth-bound kernels of bench std and bench ops, one line per
# kernel: median duration, DRAM and SM throughput, occupancy, registers).
# GPU_CHECK_SECONDS (default 560) bounds the whole run: each stage gets what is left, so one
# device call (10 minutes at most) always returns its logs. Logs: $OUT/logs.tgz, one file per
# stage, and a table of the stages (exit code, seconds) on stdout.
# cuDNN: /usr/local/cuda, else the nvidia-cudnn pip wheel of the machine's python3.
# Last run 2026-11-25 on an H100 (cuDNN from the wheel): build 50 s, test 72 s (all
# passed), memcheck 46 s (0 errors), bench-std 21 s, bench-step 21 s, reference 136 s;
# racecheck takes minutes per test (GpuParity.StdFusedFloat32 did not end in 220 s).
# bench-std has run both kernel sets (--kernels both) since: about twice as long.
set -uo pipefail
out=${OUT:-gpu-logs}
logs="$out/logs"
mkdir -p "$logs"
start=$SECONDS
budget=${GPU_CHECK_SECONDS:-560}
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv
  nvcc --version | tail -1
  date -u
} >"$logs/machine.txt" 2>&1

cudnn_header=$(ls /usr/local/cuda/include/cudnn.h /usr/include/cudnn.h 2>/dev/null | head -1)
extra=()
if [ -z "$cudnn_header" ]; then
  site=$(python3 -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" 2>/dev/null)
  cudnn_header=$(find "$site/nvidia" -name cudnn.h 2>/dev/null | head -1)
  if [ -n "$cudnn_header" ]; then
    cudnn_lib=$(find "$(dirname "$(dirname "$cudnn_header")")" -name 'libcudnn.so*' | sort | head -1)
    extra+=(-DCUDNN_INCLUDE_DIR="$(dirname "$cudnn_header")" -DCUDNN_LIBRARY="$cudnn_lib")
    export LD_LIBRARY_PATH="$(dirname "$cudnn_lib"):${LD_LIBRARY_PATH:-}"
  fi
fi
echo "cuDNN header: ${cudnn_header:-not found}" >>"$logs/machine.txt"

gpu_tests='CachingAllocator*:DeviceTensor*:Gpu*'
profiled='iterate_kernel|adjoint_kernel|start_kernel|vp_fold_rows_kernel|vp_fold_kernel|rows_kernel|kernel_term_cols_kernel|argument_softmax_kernel|adjoint_softmax_kernel|head_kernel|kernel_term_adjoint_cols_kernel|softmax_backward_kernel|ss_dual_step_kernel|ss_dual_backward_kernel|vp_dual_step_kernel|vp_planes_kernel|vp_softmax_backward_kernel|cross_entropy_partials|cross_entropy_backward_kernel|stats_partials|batch_norm_apply|backward_partials|batch_norm_dx|on_chip_forward|on_chip_backward|resize_forward|resize_backward'
sanitize="env TDSEG_CUDA_CACHING=0 compute-sanitizer --error-exitcode 1 --tool"
declare -A command=(
  [build]="cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DTDSEG_CUDA=ON
           -DTDSEG_CUDA_EMULATOR=OFF -DTDSEG_DEPS_DIR=$PWD/.deps -DCMAKE_CUDA_ARCHITECTURES=90
           ${extra[*]} && cmake --build build-gpu -j16"
  [test]="ctest --test-dir build-gpu --output-on-failure -j8 --timeout 300"
  [memcheck]="$sanitize memcheck build-gpu/tests/tdseg_tests --gtest_filter='$gpu_tests'"
  # racecheck is slow (over 8 minutes for the GPU tests on an H100): RACECHECK_TESTS picks.
  [racecheck]="$sanitize racecheck build-gpu/tests/tdseg_tests --gtest_filter='${RACECHECK_TESTS:-$gpu_tests}'"
  [bench-ops]="build-gpu/tdseg bench ops"
  [bench-std]="build-gpu/tdseg bench std --kernels both"
  [bench-step]="build-gpu/tdseg bench step"
  [reference]="PYTHONUNBUFFERED=1 python3 tools/torch_reference/std_reference.py --tdseg build-gpu/tdseg
               --repeat 10 --compile none,std,vp"
  [timm]="tools/check_timm_import.sh build-gpu/tdseg"
  # Both run, so that one harness's mismatch does not hide the other's table.
  [versions]="build-gpu/adjoint_softmax_versions; a=\$?; build-gpu/blur_softmax_versions && exit \$a"
  # The tile kernels alone under memcheck and racecheck, at a small shape: seconds.
  [sanitize-tile]="for h in adjoint_softmax_versions blur_softmax_versions; do
                     $sanitize memcheck build-gpu/\$h 2 5 37 45 1 &&
                     $sanitize racecheck build-gpu/\$h 2 5 37 45 1 || exit 1; done"
  # bench std at a quarter of VOC's batch: the first 400 launches of those kernels.
  [profile]="for run in 'std --shape 4,21,513,513 --repeat 1' 'ops --repeat 1'; do
               ncu --clock-control none --print-kernel-base function --section SpeedOfLight
                   --section Occupancy --section LaunchStats --kernel-name regex:'$profiled'
                   --launch-count 400 --csv --page details build-gpu/tdseg bench \$run
                   | python3 tools/ncu_summary.py || exit 1; done"
)
status=0
summary=""
for stage in "$@"; do
  [ -n "${command[$stage]:-}" ] || { echo "gpu_check.sh: unknown stage '$stage'" >&2; exit 2; }
  left=$((budget - (SECONDS - start)))
  if [ $left -le 5 ]; then
    summary+="$(printf '%-10s %4s %6s' "$stage" skip 0)\n"
    continue
  fi
  t0=$SECONDS
  # Each stage gets what is left of the budget; its output goes to logs/STAGE.txt.
  timeout --signal=KILL $left bash -c "${command[$stage]//$'\n'/ }" >"$logs/$stage.txt" 2>&1
  rc=$?
  [ $rc -ne 0 ] && status=1
  summary+="$(printf '%-10s %4d %6d' "$stage" $rc $((SECONDS - t0)))\n"
done
[ -x build-gpu/tdseg ] && build-gpu/tdseg devices >>"$logs/machine.txt" 2>&1
tar czf "$out/logs.tgz" -C "$out" logs && rm -rf "$logs"
printf 'stage        rc   seconds\n%b' "$summary"
exit $status
