#!/usr/bin/env bash
# The demo: builds Spillway, starts a real 3-node S3 cluster (moto, with signature checks on) and
# the gateway in front of it, drives a boto3 workload through it, stops one node midway, and
# prints what the clients saw. Then it leaves the gateway running for you to try (Ctrl-C stops).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh demo
echo "==> building Spillway (release)" >&2
swift build -c release --product spillway >&2
exec python3 scripts/demo.py --spillway "$(swift build -c release --show-bin-path)/spillway" "$@"
