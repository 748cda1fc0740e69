#!/usr/bin/env bash
# The noisy-neighbour scenario: tenant A runs a steady workload while tenant B floods at many times
# its quota, through Spillway and then straight to the storage nodes.
# Writes bench/results/noisy.{md,json}.   bench/noisy.sh [--seconds 10]
set -euo pipefail
command -v hey >/dev/null || { sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo; $sudo_ apt-get install -y -qq hey >/dev/null; }
source "$(dirname "$0")/common.sh"
run_bench noisy.py "$@"
