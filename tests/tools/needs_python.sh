#!/usr/bin/env bash
# Runs a check that needs Python modules (PyTorch, timm), or exits 77, ctest's skip code,
# naming the module that is missing. A leading "python3" in the command becomes $PYTHON.
#   needs_python.sh "torch timm" command args...
set -uo pipefail
modules=$1
shift
python=${PYTHON:-python3}
for m in $modules; do
  if ! "$python" -c "import $m" 2>/dev/null; then
    echo "skipped: needs the Python module $m ($python -m pip install $modules)"
    exit 77
  fi
done
[ "$1" = python3 ] && { shift; set -- "$python" "$@"; }
export PYTHON=$python
exec "$@"
