#!/usr/bin/env python3
"""A/B of the signature paths: two Spillway builds, each three times: unsigned requests with no
verification, signed requests verified and passed through, and signed requests verified and
re-signed for a pool with its own key; on the same three storage nodes, wrk alternating between the
six in every round (so the machine's drift falls on all of them alike).

    python3 bench/resign_ab.py --a OLD/spillway --b NEW/spillway [--rounds 8] [--duration 4] [--only "GET 4 KiB"]

Prints, per workload and target, the medians of req/s and user and kernel CPU µs per request, and
what verifying and re-signing add to each build's user CPU (re-signing's target: at most 3 µs)."""
import argparse
import time

import bench as B
from tls import signed_script

CLIENT, SECRET = "AKIABENCHCLIENT00001", "bench-client-secret"
POOL = "    credentials: { access_key_id: BENCHPOOL, secret_access_key: bench-pool-secret }\n    signing: { region: us-east-1 }\n"


def gateway(binary, name, tag, mode, work, ports, log):
    """One worker of `binary` in front of the nodes on `ports`: `unsigned` (no auth), `pass-through`
    (clients' signatures verified, passed on) or `re-signed` (verified, then signed for the pool)."""
    port = B.free_port()
    nodes = ", ".join(f"http://127.0.0.1:{p}" for p in ports)
    auth = "" if mode == "unsigned" else f"auth: {{ verify_signatures: true, credentials: {{ {CLIENT}: {SECRET} }} }}\n"
    extra = POOL if mode == "re-signed" else ""
    path = f"{work}/{tag}.yaml"
    with open(path, "w") as f:
        f.write(f"listen: 127.0.0.1:{port}\nworkers: 1\n{auth}pools:\n  - name: nodes\n    nodes: [{nodes}]\n{extra}"
                f"admin: {{ listen: 127.0.0.1:0, token: bench }}\n")
    return B.Service(name, [binary, "serve", "--config", path, "--log-level", "error"], port, log)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--a", required=True, help="the build before")
    p.add_argument("--b", required=True, help="the build after")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--duration", type=int, default=4)
    p.add_argument("--only", action="append", default=[])
    args = p.parse_args()
    work, data, log = B.workspace("resign-ab")
    services = []
    try:
        started, ports = B.start_storage(work, data, log)
        services += started
        workloads = [w for w in B.WORKLOADS if w["name"] in (args.only or ["GET 4 KiB"])]
        targets = {}
        for build, binary in (("a", args.a), ("b", args.b)):
            for mode in ("unsigned", "pass-through", "re-signed"):
                name = f"{build} {mode}"
                target = gateway(binary, name, f"{build}-{mode}", mode, work, ports, log)
                port = target.port
                if mode != "unsigned":
                    scripts = {w["name"]: signed_script(work, f"{build}-{mode}", port, w, CLIENT, SECRET) for w in workloads}
                    target.script = lambda w, scripts=scripts: scripts[w["name"]]
                targets[name] = target
                services.append(target)
        print(f"re-sign A/B {time.strftime('%Y-%m-%d %H:%M')}: a = {args.a}, b = {args.b}, {args.rounds} rounds of {args.duration} s")
        order = list(targets)
        for w in workloads:
            runs, row = B.alternate(work, targets, w, args.rounds, args.duration)
            for t in order:
                print(f"{w['name']} {t:<16} {B.fmt(row[t]['rps'])} req/s, user {row[t]['user_us']:.2f} µs, kernel {row[t]['kernel_us']:.2f} µs")
            for build in ("a", "b"):
                for what, more, less in (("verifying", "pass-through", "unsigned"), ("re-signing", "re-signed", "pass-through")):
                    added = [m["user_us"] - l["user_us"] for m, l in zip(runs[f"{build} {more}"], runs[f"{build} {less}"])]
                    print(f"{w['name']} {build}: {what} adds {row[f'{build} {more}']['user_us'] - row[f'{build} {less}']['user_us']:+.2f} µs "
                          f"of user CPU (difference of medians; median of the rounds' differences {B.median(added):+.2f} µs)", flush=True)
    finally:
        for s in services:
            s.stop()


if __name__ == "__main__":
    main()
