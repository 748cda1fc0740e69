#!/usr/bin/env bash
# Installs what the demo, the tests or the benchmark need, if it is missing. Idempotent.
#   scripts/setup.sh demo|tests|bench
set -euo pipefail
what="${1:-tests}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

command -v swift >/dev/null || fail "Swift 6.3 is required (https://www.swift.org/install/); 'swift' is not on PATH"
command -v python3 >/dev/null || fail "python3 is required: apt-get install python3 python3-pip"

apt_install() {
  local missing=()
  for pkg in "$@"; do
    local cmd="${pkg%%:*}" name="${pkg##*:}"
    command -v "$cmd" >/dev/null || missing+=("$name")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing from Debian: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq || fail "apt-get update failed; install ${missing[*]} by hand"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
    || fail "could not install ${missing[*]}: apt-get install ${missing[*]}"
}

pip_install() {
  if ! python3 -c "import moto, boto3, flask, werkzeug" 2>/dev/null; then
    say "installing moto[server] and boto3 from PyPI"
    python3 -m pip install -q 'moto[server]' boto3 || fail "pip install 'moto[server]' boto3 failed"
  fi
  if ! command -v aws >/dev/null; then
    say "installing the AWS CLI from PyPI"
    python3 -m pip install -q awscli || fail "pip install awscli failed"
  fi
}

# The deployment tests validate the Kubernetes manifests against the Kubernetes schemas.
pip_validator() {
  if ! command -v kubernetes-validate >/dev/null; then
    say "installing kubernetes-validate from PyPI"
    python3 -m pip install -q kubernetes-validate || fail "pip install kubernetes-validate failed"
  fi
}

case "$what" in
  demo) pip_install ;;
  # prometheus scrapes the metrics in a test; chromium loads the dashboard headless.
  # openssl makes the TLS tests' certificates; rclone is one of the real clients.
  tests) pip_install; pip_validator; apt_install redis-server:redis-server prometheus:prometheus chromium:chromium openssl:openssl rclone:rclone haproxy:haproxy ;;
  bench) pip_install; apt_install nginx:nginx haproxy:haproxy wrk:wrk hey:hey openssl:openssl perf:linux-perf curl:curl ;;
  *) fail "usage: scripts/setup.sh demo|tests|bench" ;;
esac
