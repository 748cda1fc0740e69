#!/usr/bin/env bash
# Builds the libFuzzer targets (Swift's -sanitize=fuzzer,address) and runs each for SECONDS
# (default 60), starting from the seeds and every past finding in fuzz/corpus/<target>/.
#   fuzz/run.sh [SECONDS] [TARGET ...]
# A crash or sanitizer report fails the run; the input that caused it is in fuzz/.build/findings/.
# Copy it into fuzz/corpus/<target>/ once fixed: it is then replayed on every run.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(FuzzRequestHead FuzzResponseHead FuzzBodyFraming FuzzSigV4 FuzzChunkChain FuzzRESP FuzzConfig)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "building fuzz targets (libFuzzer + AddressSanitizer)"
# lld: the default gold linker fails on libFuzzer's archive with Swift's debug info.
swift build -c release --scratch-path .build \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld 2>&1 | grep -E "error|warning: unre|Compiling|Build complete" | tail -5
bin=$(swift build -c release --scratch-path .build --show-bin-path)

mkdir -p .build/findings
failed=0
for target in "${targets[@]}"; do
  work=".build/corpus/$target"
  mkdir -p "$work" "corpus/$target"
  say "$target for ${seconds}s"
  if ! "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix=".build/findings/$target-" -print_final_stats=1 "$work" "corpus/$target" > ".build/$target.log" 2>&1; then
    echo "error: $target found a crash; see fuzz/.build/$target.log and fuzz/.build/findings/" >&2
    tail -30 ".build/$target.log" >&2
    failed=1
  else
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" ".build/$target.log" | tr '\n' ' ' >&2
    echo >&2
  fi
done
exit $failed
