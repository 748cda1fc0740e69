#!/usr/bin/env bash
# The test command: installs what the tests need if missing, builds, checks the architecture
# rules, and runs every test (unit tests, and integration tests against a real 3-node S3 cluster
# with boto3 and the AWS CLI as clients).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh tests

echo "==> architecture: pure targets stay pure" >&2
# Policy and S3 logic take time and randomness as arguments, never read them.
if grep -rnE 'Task\.sleep|\.now\b|\.now\(|random\(|import (NIO|Foundation|Dispatch)' Sources/SpillwayPolicy Sources/SpillwayS3 Sources/SpillwayHTTP1 Sources/SpillwayRESP; then
  echo "error: SpillwayPolicy, SpillwayS3, SpillwayHTTP1 and SpillwayRESP must not read clocks, roll dice or import I/O modules" >&2
  exit 1
fi

echo "==> build" >&2
swift build --build-tests --explicit-target-dependency-import-check error

echo "==> test" >&2
# One test at a time: several tests measure rates and shares under load, and would measure each
# other on a 2-core machine.
swift test --skip-build --no-parallel "$@"

echo "==> release: the binary users run, through real clients and the re-signing suite" >&2
# The tests above run the debug binary; an optimiser bug once made the release binary crash on
# every request while they all passed.
swift build -c release --product spillway
SPILLWAY_BIN="$(swift build -c release --show-bin-path)/spillway" swift test --skip-build --no-parallel --filter 'S3ClientTests|ResigningTests|ClientTLSTests'

echo "==> fuzz: every parser of outside bytes, ${SPILLWAY_FUZZ_SECONDS:-10} s each (fuzz/run.sh for longer runs)" >&2
fuzz/run.sh "${SPILLWAY_FUZZ_SECONDS:-10}"
