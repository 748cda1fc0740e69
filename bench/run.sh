#!/usr/bin/env bash
# The benchmark: Spillway side by side with NGINX, HAProxy and direct access, in one run.
#   bench/run.sh [--reps N] [--duration S] [--quick]
# Installs nginx, haproxy, wrk and matplotlib if missing, builds Spillway in release mode, and
# writes bench/results/latest.{md,json,png}.
set -euo pipefail
source "$(dirname "$0")/common.sh"
run_bench bench.py "$@"
