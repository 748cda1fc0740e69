#!/usr/bin/env bash
# Adding throughput: 64 readers of one object (coalescing) and one boto3 stream from storage that
# caps each connection (split downloads), through Spillway, NGINX, HAProxy and straight to storage.
#   bench/throughput.sh [--reps N] [--readers N] [--fan-out-size BYTES] [--stream-size BYTES]
# Writes bench/results/throughput.{md,json,png}.
set -euo pipefail
source "$(dirname "$0")/common.sh"
run_bench throughput.py "$@"
