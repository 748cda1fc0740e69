#!/usr/bin/env bash
# The noisy-neighbour scenario: tenant A runs a steady workload while tenant B floods at many times
# its quota, through Spillway and then straight to the storage nodes.
# Writes bench/results/noisy.{md,json}.   bench/noisy.sh [--seconds 10]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh bench
command -v hey >/dev/null || { sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo; $sudo_ apt-get install -y -qq hey >/dev/null; }
echo "==> building Spillway (release)" >&2
swift build -c release --product spillway >&2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec python3 bench/noisy.py --spillway "$(swift build -c release --show-bin-path)/spillway" "$@"
