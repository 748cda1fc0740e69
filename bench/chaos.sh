#!/usr/bin/env bash
# The chaos scenario: a steady boto3 GET/PUT workload over 3 S3 nodes while one node is killed,
# another turns slow and the third throttles, run through Spillway, NGINX and HAProxy (both set up
# to retry) one after the other, with the same timeline. Writes bench/results/chaos.{md,json,png}.
#   bench/chaos.sh [--seconds-per-phase 6] [--threads 8]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh bench
python3 -c "import matplotlib" 2>/dev/null || python3 -m pip install -q matplotlib
echo "==> building Spillway (release)" >&2
swift build -c release --product spillway >&2
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec python3 bench/chaos.py --spillway "$(swift build -c release --show-bin-path)/spillway" "$@"
