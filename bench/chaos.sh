#!/usr/bin/env bash
# The chaos scenario: a steady boto3 GET/PUT workload over 3 S3 nodes while one node is killed,
# another turns slow and the third throttles, run through Spillway, NGINX and HAProxy (both set up
# to retry) one after the other, with the same timeline. Writes bench/results/chaos.{md,json,png}.
#   bench/chaos.sh [--seconds-per-phase 6] [--threads 8]
set -euo pipefail
source "$(dirname "$0")/common.sh"
run_bench chaos.py "$@"
