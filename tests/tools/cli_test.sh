#!/usr/bin/env bash
# The command line's contract: exit 0 on success, 2 with exactly one line on stderr for
# bad input. Usage: cli_test.sh PATH_TO_TDSEG
set -u
tdseg=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0

# expect CODE LINES_ON_STDERR COMMAND...   (LINES_ON_STDERR "-" means not checked)
expect() {
  local code=$1 lines=$2
  shift 2
  "$tdseg" "$@" >"$dir/out" 2>"$dir/err"
  local got=$?
  local n
  n=$(wc -l <"$dir/err")
  if [ "$got" -ne "$code" ] || { [ "$lines" != "-" ] && [ "$n" -ne "$lines" ]; }; then
    echo "FAIL: tdseg $* -> exit $got (want $code), $n stderr lines (want $lines)"
    cat "$dir/err"
    fails=$((fails + 1))
  fi
}

# A valid float32 .npy of shape (2,) holding 1.0 and 2.0 (header padded to 128 bytes).
header="{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
pad=$((128 - 10 - ${#header} - 1))
{ printf '\x93NUMPY\x01\x00\x76\x00'; printf '%s' "$header"; printf "%${pad}s" ''; printf '\n'
  printf '\x00\x00\x80\x3f\x00\x00\x00\x40'; } >"$dir/good.npy"
printf 'garbage' >"$dir/bad.npy"
head -c 130 "$dir/good.npy" >"$dir/short.npy"
# A valid safetensors checkpoint (named so that only its content says what it is): the
# header length (u64 LE), the JSON header padded with spaces to 8 bytes, 1.0 and 2.0.
header='{"__metadata__":{"epoch":"3"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
pad=$(((8 - ${#header} % 8) % 8))
{ printf "\\x$(printf %02x $((${#header} + pad)))"'\x00\x00\x00\x00\x00\x00\x00'
  printf '%s' "$header"; printf "%${pad}s" ''
  printf '\x00\x00\x80\x3f\x00\x00\x00\x40'; } >"$dir/good.ckpt"
head -c -3 "$dir/good.ckpt" >"$dir/short.ckpt"
head -c 20 "$dir/good.ckpt" >"$dir/cut.ckpt"

expect 0 - --help
expect 0 - version
expect 0 - devices
expect 0 0 inspect "$dir/good.npy"
grep -q "min 1  max 2  mean 1.5  std 0.5" "$dir/out" || { echo "FAIL: inspect statistics"; cat "$dir/out"; fails=$((fails + 1)); }
expect 2 1 inspect "$dir/bad.npy"
expect 2 1 inspect "$dir/short.npy"
expect 2 1 inspect "$dir/missing.npy"
expect 0 0 inspect "$dir/good.ckpt"
grep -Eq "^  w +float32 +\[2\] +1 +2 +1.5 +0.5$" "$dir/out" && grep -q "epoch = 3" "$dir/out" &&
  grep -q "1 tensor, 2 values" "$dir/out" ||
  { echo "FAIL: inspect checkpoint"; cat "$dir/out"; fails=$((fails + 1)); }
expect 2 1 inspect "$dir/short.ckpt"
expect 2 1 inspect "$dir/cut.ckpt"
grep -q "cut.ckpt: truncated header" "$dir/err" || { echo "FAIL: inspect cut.ckpt"; fails=$((fails + 1)); }
expect 2 1 inspect
expect 2 1 inspect "$dir/good.npy" --bogus
expect 2 1 frobnicate
expect 2 1 smoke --steps abc
expect 2 1 bench nothing
"$tdseg" devices | grep -q "^cuda:0" || expect 2 1 bench ops --repeat 1  # no GPU: says why, exits 2
for c in version devices inspect smoke bench model std toy train eval predict; do expect 0 0 "$c" --help; done
expect 2 1 train --set train.lrr=0.1
expect 2 1 train --set train.iters=abc
expect 2 1 eval --checkpoint "$dir/missing.safetensors"
expect 2 1 predict --checkpoint "$dir/good.ckpt" --input "$dir/none" --out "$dir/pred"
"$tdseg" devices | grep -Eq "no CUDA device|^cuda:0" || { echo "FAIL: devices output"; fails=$((fails + 1)); }
expect 0 - smoke --steps 2 --size 17 --batch 1
expect 0 0 model list
expect 0 - bench std --device cpu --repeat 1 --shape 1,3,17,17
expect 0 0 model summary deeplabv3plus-xception-tiny --input 65x49 --classes 3
expect 2 1 model summary resnet50
expect 2 1 model summary deeplabv3plus-xception-tiny --input 65by49
expect 2 1 model frobnicate
expect 0 - toy --out "$dir/toy" --size 32
for f in input mask softmax std ss_std figure energy; do
  [ "$(head -c 4 "$dir/toy/$f.png" 2>/dev/null | tail -c 3)" = PNG ] ||
    { echo "FAIL: toy did not write $f.png"; fails=$((fails + 1)); }
done
grep -q "^SS-STD" "$dir/out" || { echo "FAIL: toy table"; cat "$dir/out"; fails=$((fails + 1)); }
expect 2 1 toy --size 3
expect 2 1 toy --noise -1
expect 2 1 toy --seed x
expect 2 1 toy --out /dev/null/toy --size 16

[ "$fails" -eq 0 ] && echo "cli: all checks passed"
exit "$fails"
