#!/usr/bin/env bash
# Installs the Debian packages pipe needs, only those that are missing. Extra packages may be named
# as arguments (.ci/run adds the test-only ones).
set -euo pipefail
needed=(libopenblas-dev libssl-dev libsqlite3-dev libcurl4-openssl-dev zlib1g-dev libzstd-dev pkg-config python3-pip "$@")
missing=()
for p in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
