#!/usr/bin/env bash
# Installs the Debian packages tdseg builds against, only those that are missing.
# Idempotent: a second run installs nothing and takes well under a second.
set -euo pipefail
packages=(cmake ninja-build g++ libgtest-dev nlohmann-json3-dev libstb-dev libopenblas-dev
          libopenblas-openmp-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "tdseg: installing ${missing[*]}"
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
