#!/usr/bin/env bash
# TLS and re-signing: Spillway with TLS on both sides beside NGINX and HAProxy doing the same, full
# handshakes per second, RSS per idle TLS connection, and re-signed requests against pass-through.
#   bench/tls.sh [--reps N] [--duration S] [--quick] [--resign-only]
# Writes bench/results/tls.{md,json} (with --resign-only: only the re-signing rows, to resign.{md,json}).
set -euo pipefail
source "$(dirname "$0")/common.sh"
run_bench tls.py "$@"
