#!/usr/bin/env bash
# Checks the timm -> tdseg weight import where PyTorch and timm are installed (the GPU
# machine, or any machine after pip install torch timm safetensors): the same random
# weights in both, the same input, and tdseg's backbone features must match timm's within
# float32 tolerance. $PYTHON picks the interpreter (default python3).
#   tools/check_timm_import.sh [path/to/tdseg]      (default build-gpu/tdseg, then build/tdseg)
set -euo pipefail
cd "$(dirname "$0")/.."
tdseg=${1:-$( [ -x build-gpu/tdseg ] && echo build-gpu/tdseg || echo build/tdseg )}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"${PYTHON:-python3}" tools/export_timm_xception65.py --random-seed 7 --out "$dir/w.safetensors" \
  --features-dir "$dir" --size 129
"$tdseg" model features deeplabv3plus-xception65 --weights "$dir/w.safetensors" \
  --input "$dir/input.npy" --out "$dir/ours.npy" --low-level-out "$dir/ours_low.npy"
"${PYTHON:-python3}" - "$dir" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
ok = True
for what, ours, theirs in (("features", np.load(f"{d}/ours.npy"), np.load(f"{d}/features.npy")),
                           # timm taps the low-level features after the ReLU that tdseg applies later
                           ("low-level", np.maximum(np.load(f"{d}/ours_low.npy"), 0), np.load(f"{d}/low_level_relu.npy"))):
    rel = np.abs(ours - theirs).max() / np.abs(theirs).max()
    print(f"{what}: shape {ours.shape}, max |tdseg - timm| / max |timm| = {rel:.2e}")
    ok &= ours.shape == theirs.shape and rel < 1e-4
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
