#!/usr/bin/env bash
# The benchmark: Spillway side by side with NGINX, HAProxy and direct access, in one run.
#   bench/run.sh [--reps N] [--duration S] [--quick]
# Installs nginx, haproxy, wrk and matplotlib if missing, builds Spillway in release mode, and
# writes bench/results/latest.{md,json,png}.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh bench
python3 -c "import matplotlib" 2>/dev/null || python3 -m pip install -q matplotlib
echo "==> building Spillway (release)" >&2
swift build -c release --product spillway >&2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec python3 bench/bench.py --spillway "$(swift build -c release --show-bin-path)/spillway" "$@"
