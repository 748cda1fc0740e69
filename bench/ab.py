#!/usr/bin/env python3
"""A/B: two Spillway builds on the same three storage nodes, wrk alternating between them, so the
machine's drift (on a shared VM a single run's ratios move by 5 to 10 %) falls on both alike.

    python3 bench/ab.py --a OLD/spillway --b NEW/spillway [--rounds 8] [--duration 5] [--only "GET 4 KiB"]
    python3 bench/ab.py --a NEW/spillway --b NEW/spillway --b-args=--coalesce     # what a flag costs

Prints, per workload, the medians of each build's req/s and user and kernel CPU per request."""
import argparse
import time

from bench import WORKLOADS, Service, alternate, fmt, free_port, start_storage, workspace


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True, help="the build before")
    p.add_argument("--b", required=True, help="the build after")
    p.add_argument("--a-args", default="", help="more serve arguments for a (e.g. --coalesce)")
    p.add_argument("--b-args", default="", help="more serve arguments for b")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--only", action="append", default=[])
    args = p.parse_args()
    work, data, log = workspace("ab")
    services = []
    try:
        started, ports = start_storage(work, data, log)
        services += started
        nodes = [f"http://127.0.0.1:{port}" for port in ports]
        builds = {}
        for name, binary, extra in (("a", args.a, args.a_args), ("b", args.b, args.b_args)):
            port = free_port()
            builds[name] = Service(name, [binary, "serve", "--workers", "1", "--log-level", "error", "--admin", "127.0.0.1:0",
                                          "--listen", f"127.0.0.1:{port}", *extra.split(), *nodes], port, log)
            services.append(builds[name])
        # PUTs only when named: each writes objects to the nodes' memory.
        workloads = [w for w in WORKLOADS if (w["name"] in args.only if args.only else not w["put"])]
        print(f"A/B {time.strftime('%Y-%m-%d %H:%M')}: a = {args.a} {args.a_args}, b = {args.b} {args.b_args}, "
              f"{args.rounds} rounds of {args.duration} s")
        for w in workloads:
            _, row = alternate(work, builds, w, args.rounds, args.duration)
            print(f"{w['name']}: a {fmt(row['a']['rps'])} req/s, user {fmt(row['a']['user_us'])} µs, kernel {fmt(row['a']['kernel_us'])} µs | "
                  f"b {fmt(row['b']['rps'])} req/s, user {fmt(row['b']['user_us'])} µs, kernel {fmt(row['b']['kernel_us'])} µs | "
                  f"b ÷ a req/s {row['b']['rps'] / row['a']['rps']:.3f}", flush=True)
    finally:
        for s in services:
            s.stop()


if __name__ == "__main__":
    main()
