#!/usr/bin/env python3
"""Runs the demo: cluster, gateway, workload, a node stopped midway, a summary. See scripts/demo.sh."""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import webbrowser

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
    p.add_argument("--admin-port", type=int, default=9901)
    p.add_argument("--keep-running", choices=["auto", "yes", "no"], default="auto")
    p.add_argument("--screenshot", help="save a PNG of the dashboard near the end of the workload (needs chromium)")
    args = p.parse_args()
    interactive = sys.stdin.isatty() and sys.stdout.isatty()

    print("==> starting a 3-node S3 cluster (moto, SigV4 checks on)", flush=True)
    cluster = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "cluster/s3cluster.py"), "--exit-with-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    info = json.loads(cluster.stdout.readline())
    nodes = [f"http://127.0.0.1:{n['port']}" for n in info["nodes"]]
    port = free_port(args.port)
    admin_port = free_port(args.admin_port)
    logs = tempfile.mkdtemp(prefix="spillway-demo-")
    access_log = os.path.join(logs, "access.log")
    print(f"    nodes: {' '.join(nodes)}", flush=True)
    print(f"==> starting Spillway on 127.0.0.1:{port} (admin, metrics and dashboard on 127.0.0.1:{admin_port})", flush=True)
    gateway = subprocess.Popen(
        [args.spillway, "serve", "--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin_port}",
         "--access-log", access_log, "--log-level", "error", *nodes],
        stdout=subprocess.PIPE, text=True,
    )
    for _ in range(2):
        print("    " + gateway.stdout.readline().strip(), flush=True)
    endpoint = f"http://127.0.0.1:{port}"
    admin = f"http://127.0.0.1:{admin_port}"
    print(f"\n    Watch it live: {admin}/   (or in a terminal: {args.spillway} top --admin {admin})\n", flush=True)
    if interactive:
        if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("BROWSER"):
            webbrowser.open(f"{admin}/")
        print("    The workload starts in 5 s: open the dashboard to watch node 2 fail.", flush=True)
        time.sleep(5)

    def stop_node():
        urllib.request.urlopen(
            urllib.request.Request(f"http://127.0.0.1:{info['control_port']}/nodes/1/stop", method="POST")
        ).read()

    print(f"==> {args.threads} boto3 clients GET and PUT 64 KiB objects for {args.seconds:.0f} s; "
          f"node 2 ({nodes[1]}) is stopped at {args.seconds / 2:.0f} s", flush=True)
    load = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "Tests/clients/s3client.py"), "load", "--endpoint", endpoint,
         "--cluster-json", json.dumps(info), "--bucket", "demo", "--threads", str(args.threads),
         "--duration", str(args.seconds), "--stop-after", str(args.seconds / 2),
         "--stop-url", f"http://127.0.0.1:{info['control_port']}/nodes/1/stop"],
        # Files, not pipes: the client writes its whole record at the end, more than a pipe holds.
        stdout=open(os.path.join(logs, "load.json"), "w"), stderr=open(os.path.join(logs, "load.err"), "w"), text=True,
    )
    started = time.monotonic()
    shot_at = args.seconds - 1.5
    while load.poll() is None:
        time.sleep(2)
        print("    " + progress(admin, time.monotonic() - started), flush=True)
        if args.screenshot and time.monotonic() - started >= shot_at:
            screenshot(f"{admin}/", args.screenshot)
            args.screenshot = None
    if load.returncode != 0:
        print(open(os.path.join(logs, "load.err")).read(), file=sys.stderr)
        sys.exit(1)
    result = json.loads(open(os.path.join(logs, "load.json")).read().strip().splitlines()[-1])
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
    show_observability(args.spillway, admin, access_log)
    print()
    print(f"Point any S3 client at {endpoint} and change nothing else, e.g.:")
    print(f"    AWS_ACCESS_KEY_ID={info['access_key']} AWS_SECRET_ACCESS_KEY={info['secret_key']} \\")
    print(f"      aws --endpoint-url {endpoint} --region us-east-1 s3 ls s3://demo/load/")

    keep = args.keep_running == "yes" or (args.keep_running == "auto" and sys.stdin.isatty())
    try:
        if keep:
            print(f"\nSpillway keeps serving (node 2 stays down); the dashboard stays at {admin}/. Press Ctrl-C to stop.", flush=True)
            signal.sigwait([signal.SIGINT, signal.SIGTERM])
    except KeyboardInterrupt:
        pass
    finally:
        gateway.send_signal(signal.SIGINT)  # no shutdown delay: nothing routes to the demo's gateway
        gateway.wait(timeout=40)
        cluster.stdin.close()
        cluster.wait(timeout=10)


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def progress(admin, elapsed):
    """One line of what the gateway sees now: its request rate and each node's state."""
    try:
        status, history = get_json(f"{admin}/api/status"), get_json(f"{admin}/api/history")
    except OSError as e:
        return f"t={elapsed:4.0f}s  (admin API: {e})"
    rate = history[-1]["requestsPerSecond"] if history else 0
    states = []
    for pool in status["pools"]:
        for n in pool["nodes"]:
            state = ("drained" if n["drained"] else f"ejected {n['ejectedForSeconds']:.0f}s" if n.get("ejectedForSeconds") is not None
                     else "down" if not n["healthy"] else "up")
            states.append(f"{n['url'].rsplit(':', 1)[-1]} {state}")
    t = status["totals"]
    return (f"t={elapsed:4.0f}s  {rate:6.0f} req/s  retries {t['retries']:4}  errors {t['errors']}   nodes: "
            + " | ".join(states))


def screenshot(url, path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not chromium:
        print("    (no chromium: screenshot skipped; apt-get install chromium)", flush=True)
        return
    profile = tempfile.mkdtemp(prefix="spillway-chromium-")
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
                    "--virtual-time-budget=3000", "--window-size=1400,1060", f"--screenshot={os.path.abspath(path)}", url],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    print(f"    dashboard screenshot: {path}", flush=True)


def show_observability(spillway, admin, access_log):
    print("==> what the gateway saw (spillway top --admin ... --count 1)")
    top = subprocess.run([spillway, "top", "--admin", admin, "--count", "1"], capture_output=True, text=True)
    print("\n".join("    " + l for l in top.stdout.rstrip().splitlines()))
    print(f"==> Prometheus metrics at {admin}/metrics, for example")
    with urllib.request.urlopen(f"{admin}/metrics", timeout=5) as r:
        metrics = r.read().decode().splitlines()
    wanted = ("spillway_retries_total", "spillway_node_ejections", "spillway_node_up")
    for m in [m for m in metrics if m.startswith(wanted)][:8]:
        print("    " + m)
    print(f"==> the access log ({access_log}): one JSON line per request; a retried one:")
    time.sleep(0.3)
    with open(access_log) as f:
        lines = f.read().splitlines()
    retried = [l for l in lines if '"retries":0' not in l]
    print("    " + (retried[0] if retried else lines[-1]))


if __name__ == "__main__":
    main()
