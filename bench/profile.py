#!/usr/bin/env python3
"""Where a proxied request's CPU goes: one Spillway build under wrk (GET 4 KiB, 64 connections, or
another of bench/run.sh's workloads with --workload),
profiled with `perf record` while the load runs, reported as µs of CPU per request for each
function, its callees included (perf's "children" samples x the sample period / the requests
served meanwhile). Steadier than an end-to-end A/B on a noisy machine, and it says where to look.

    python3 bench/profile.py --binary .build/release/spillway [--mode unsigned|pass-through|re-signed]
                             [--workload "1,000 connections"] [--seconds 8] [--top 40] [--grep SigV4]

Needs perf (Debian: linux-perf) and permission to profile (root, or kernel.perf_event_paranoid <= 1)."""
import argparse
import re
import shutil
import subprocess
import sys

import bench as B
from resign_ab import CLIENT, SECRET
from resign_ab import gateway as resign_gateway
from tls import signed_script

FREQUENCY = 2000  # samples per second of CPU


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--mode", choices=["unsigned", "pass-through", "re-signed"], default="re-signed")
    p.add_argument("--workload", default="GET 4 KiB", choices=[w["name"] for w in B.WORKLOADS],
                   help="one of bench/run.sh's workloads (its path and connections)")
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--grep", help="only functions whose name matches this regular expression")
    p.add_argument("--under", help="also break down the samples of the first function matching this regular expression "
                                   "by the functions it calls directly, and by leaf")
    p.add_argument("--record", help="where to keep perf's data, for `perf report -i` (default: removed with the run)")
    args = p.parse_args()
    if not shutil.which("perf"):
        sys.exit("bench/profile.py needs perf: apt-get install linux-perf")
    work, data, log = B.workspace("profile")
    services = []
    try:
        started, ports = B.start_storage(work, data, log)
        services += started
        gateway = resign_gateway(args.binary, "spillway", "gateway", args.mode, work, ports, log)
        services.append(gateway)
        port = gateway.port
        workload = next(w for w in B.WORKLOADS if w["name"] == args.workload)
        script = signed_script(work, "profile", port, workload, CLIENT, SECRET) if args.mode != "unsigned" else None
        B.run_wrk(work, port, workload, 2, script=script)  # warm: connections, key cache, allocator
        record = args.record or f"{work}/perf.data"
        perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", str(FREQUENCY), "-g", "-o", record,
                                 "-p", str(gateway.proc.pid), "--", "sleep", str(args.seconds)],
                                stdout=log, stderr=log)
        r = B.run_wrk(work, port, workload, args.seconds + 1, script=script)
        perf.wait()
        # The requests served while perf recorded: wrk ran one second longer, at a steady rate.
        requests = r["requests"] / (r["duration_us"] / 1e6) * args.seconds
        report = subprocess.run(["perf", "report", "-i", record, "--stdio", "--children", "--sort", "symbol", "-g", "none",
                              "--percent-limit", "0.3"], capture_output=True, text=True).stdout
        # Swift's names demangled (simplified), so that `--grep` and a reader see `SigV4Signer.sign`.
        out = subprocess.run(["swift", "demangle", "--simplified"], input=report, capture_output=True, text=True).stdout or report
        total = re.search(r"^# Samples: (\d+\.?\d*)([KM]?)", out, re.M)
        samples = float(total.group(1)) * {"": 1, "K": 1e3, "M": 1e6}[total.group(2)]
        per_request_us = samples / FREQUENCY / requests * 1e6
        print(f"{args.mode}, {args.workload}: {requests / args.seconds:,.0f} req/s, {per_request_us:.2f} µs of CPU per request in the gateway "
              f"({samples:.0f} samples); per function, callees included:")
        shown = 0
        for line in out.splitlines():
            m = re.match(r"\s+(\d+\.\d+)%\s+(\d+\.\d+)%\s+\[[.k]\]\s+(.*?)(\s+-\s+-)?\s*$", line)
            if not m or (args.grep and not re.search(args.grep, m.group(3))):
                continue
            children, self_ = float(m.group(1)), float(m.group(2))
            print(f"{children / 100 * per_request_us:7.2f} µs  (self {self_ / 100 * per_request_us:5.2f})  {m.group(3)[:150]}")
            shown += 1
            if shown >= args.top:
                break
        if args.under:
            under(record, args.under, per_request_us / samples)
    finally:
        for s in services:
            s.stop()


def under(record, pattern, us_per_sample):
    """The samples of the outermost frame matching `pattern`, by direct callee and by leaf."""
    script = subprocess.run(["perf", "script", "-i", record, "-F", "ip,sym"], capture_output=True, text=True).stdout
    names = subprocess.run(["swift", "demangle", "--simplified"], input=script, capture_output=True, text=True).stdout or script
    callees, leaves, total = {}, {}, 0
    for sample in names.split("\n\n"):
        frames = [re.sub(r"^\s*[0-9a-f]+\s+", "", f).strip() for f in sample.strip().splitlines()]
        hits = [i for i, f in enumerate(frames) if re.search(pattern, f)]
        if not hits:
            continue
        i = hits[-1]  # innermost first: the last hit is the outermost call
        total += 1
        callee = frames[i - 1] if i > 0 else "(itself)"
        callees[callee] = callees.get(callee, 0) + 1
        leaves[frames[0]] = leaves.get(frames[0], 0) + 1
    print(f"\n{total * us_per_sample:.2f} µs per request under /{pattern}/; by direct callee:")
    for name, n in sorted(callees.items(), key=lambda kv: -kv[1])[:25]:
        print(f"{n * us_per_sample:7.2f} µs  {name[:150]}")
    print("by leaf:")
    for name, n in sorted(leaves.items(), key=lambda kv: -kv[1])[:25]:
        print(f"{n * us_per_sample:7.2f} µs  {name[:150]}")


if __name__ == "__main__":
    main()
