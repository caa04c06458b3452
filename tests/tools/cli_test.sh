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

expect 0 - --help
expect 0 - version
expect 0 - devices
expect 0 0 inspect "$dir/good.npy"
grep -q "min 1  max 2  mean 1.5  std 0.5" "$dir/out" || { echo "FAIL: inspect statistics"; cat "$dir/out"; fails=$((fails + 1)); }
expect 2 1 inspect "$dir/bad.npy"
expect 2 1 inspect "$dir/short.npy"
expect 2 1 inspect "$dir/missing.npy"
expect 2 1 inspect
expect 2 1 inspect "$dir/good.npy" --bogus
expect 2 1 frobnicate
expect 2 1 smoke --steps abc
expect 2 1 bench nothing
for c in version devices inspect smoke bench; do expect 0 0 "$c" --help; done
"$tdseg" devices | grep -Eq "no CUDA device|^cuda:0" || { echo "FAIL: devices output"; fails=$((fails + 1)); }
expect 0 - smoke --steps 2 --size 17 --batch 1

[ "$fails" -eq 0 ] && echo "cli: all checks passed"
exit "$fails"
