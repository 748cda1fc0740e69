# Shared by the bench scripts: what they all need before they run (sourced, not run).
#   run_bench SCRIPT.py [ARGS...]: installs the tools, builds Spillway in release mode, raises the
#   file-descriptor limit, and runs bench/SCRIPT.py with the binary and ARGS.
run_bench() {
  local script=$1
  shift
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  scripts/setup.sh bench
  python3 -c "import matplotlib" 2>/dev/null || python3 -m pip install -q matplotlib
  echo "==> building Spillway (release)" >&2
  swift build -c release --product spillway >&2
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  exec python3 "bench/$script" --spillway "$(swift build -c release --show-bin-path)/spillway" "$@"
}
