#!/usr/bin/env python3
"""Runs the demo: cluster, gateway, workload, a node stopped midway, a summary. See scripts/demo.sh."""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port(preferred):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spillway", required=True)
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--seconds", type=float, default=16)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--keep-running", choices=["auto", "yes", "no"], default="auto")
    args = p.parse_args()

    print("==> starting a 3-node S3 cluster (moto, SigV4 checks on)", flush=True)
    cluster = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "cluster/s3cluster.py"), "--exit-with-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    info = json.loads(cluster.stdout.readline())
    nodes = [f"http://127.0.0.1:{n['port']}" for n in info["nodes"]]
    port = free_port(args.port)
    print(f"    nodes: {' '.join(nodes)}", flush=True)
    print(f"==> starting Spillway on 127.0.0.1:{port}", flush=True)
    gateway = subprocess.Popen(
        [args.spillway, "serve", "--listen", f"127.0.0.1:{port}", "--log-level", "error", *nodes],
        stdout=subprocess.PIPE, text=True,
    )
    print("    " + gateway.stdout.readline().strip(), flush=True)
    endpoint = f"http://127.0.0.1:{port}"

    def stop_node():
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{info['control_port']}/nodes/1/stop", method="POST")
        ).read()

    print(f"==> {args.threads} boto3 clients GET and PUT 64 KiB objects for {args.seconds:.0f} s; "
          f"node 2 ({nodes[1]}) is stopped at {args.seconds / 2:.0f} s", flush=True)
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "Tests/clients/s3client.py"), "load", "--endpoint", endpoint,
         "--cluster-json", json.dumps(info), "--bucket", "demo", "--threads", str(args.threads),
         "--duration", str(args.seconds), "--stop-after", str(args.seconds / 2),
         "--stop-url", f"http://127.0.0.1:{info['control_port']}/nodes/1/stop"],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        sys.exit(1)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    records, stop = result["records"], result["stopped_at"]
    before = [r for r in records if r["start"] < stop]
    after = [r for r in records if r["start"] >= stop]

    def line(label, rs):
        ok = sum(1 for r in rs if r["error"] is None)
        failed = [r["error"] for r in rs if r["error"] is not None]
        detail = f"  ({', '.join(sorted(set(failed)))})" if failed else ""
        return f"    {label:<28} {ok:>6} succeeded  {len(failed):>4} failed{detail}"

    print("==> what the clients saw (client retries off, so every gateway failure would show)")
    print(line("before the node stopped", before))
    print(line("after the node stopped", after))
    print(line("total", records))
    print()
    print(f"Point any S3 client at {endpoint} and change nothing else, e.g.:")
    print(f"    AWS_ACCESS_KEY_ID={info['access_key']} AWS_SECRET_ACCESS_KEY={info['secret_key']} \\")
    print(f"      aws --endpoint-url {endpoint} --region us-east-1 s3 ls s3://demo/load/")

    keep = args.keep_running == "yes" or (args.keep_running == "auto" and sys.stdin.isatty())
    try:
        if keep:
            print("\nSpillway keeps serving (node 2 stays down). Press Ctrl-C to stop.", flush=True)
            signal.sigwait([signal.SIGINT, signal.SIGTERM])
    except KeyboardInterrupt:
        pass
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=40)
        cluster.stdin.close()
        cluster.wait(timeout=10)


if __name__ == "__main__":
    main()
