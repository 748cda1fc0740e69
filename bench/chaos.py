#!/usr/bin/env python3
"""The chaos scenario (see bench/chaos.sh): same faults, same workload, three proxies."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import Service, free_port, scratch_dir, USER  # noqa: E402


def nginx_conf(work, port, nodes):
    servers = "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in nodes)
    return f"""
{USER}
worker_processes 1;
daemon off;
pid {work}/chaos-nginx.pid;
error_log {work}/chaos-nginx.err warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  upstream nodes {{
    least_conn;
{servers}
    keepalive 256;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 0;
    location / {{
      proxy_pass http://nodes;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      # Retries: on errors, timeouts and 5xx, for writes too (the body is buffered to allow it).
      proxy_next_upstream error timeout http_500 http_502 http_503 http_504 non_idempotent;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 1s;
      proxy_read_timeout 10s;
    }}
  }}
}}
"""


def haproxy_conf(port, nodes):
    servers = "\n".join(f"  server n{i} 127.0.0.1:{p} check inter 1s fall 2 rise 2" for i, p in enumerate(nodes))
    return f"""
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 10s
  option http-keep-alive
  http-reuse always
  retries 3
  retry-on all-retryable-errors 500 502 503 504
  option redispatch 1
  option http-buffer-request
frontend fe
  bind 127.0.0.1:{port}
  default_backend nodes
backend nodes
  balance leastconn
  option httpchk HEAD /
  http-check expect rstatus ^[234]
{servers}
"""


def control(info, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{info['control_port']}{path}", method="POST",
                                 data=json.dumps(body).encode() if body is not None else None)
    urllib.request.urlopen(req).read()


def run_scenario(name, endpoint, info, args):
    """Runs the workload against `endpoint` while the fault timeline plays; returns the records."""
    phase = args.seconds_per_phase
    duration = phase * 5
    load = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "Tests/clients/s3client.py"), "load", "--endpoint", endpoint,
         "--cluster-json", json.dumps(info), "--bucket", f"chaos-{name}", "--threads", str(args.threads),
         "--duration", str(duration), "--object-size", str(64 * 1024)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    timeline = [
        (phase * 1, "node 1 killed", lambda: control(info, "/nodes/0/stop")),
        (phase * 2, "node 2 slow (300 ms)", lambda: control(info, "/nodes/1/fault", {"mode": "delay", "ms": 300})),
        (phase * 3, "node 3 throttles (50 % SlowDown)", lambda: control(info, "/nodes/2/fault", {"mode": "slowdown", "probability": 0.5})),
        (phase * 4, "all restored", lambda: (control(info, "/nodes/0/start"), control(info, "/nodes/1/fault", {"mode": "none"}),
                                              control(info, "/nodes/2/fault", {"mode": "none"}))),
    ]
    marks = []
    for at, label, action in timeline:
        time.sleep(max(0, at - (time.monotonic() - t0)))
        action()
        marks.append((time.monotonic() - t0, label))
    out, err = load.communicate(timeout=duration + 120)
    if load.returncode != 0:
        raise RuntimeError(f"workload failed: {err[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    # The workload starts a little after t0 (interpreter start-up); align its clock on the marks.
    return result["records"], marks


def summarize(records, marks, seconds):
    per_second = [{"ok": 0, "get_errors": 0, "put_errors": 0} for _ in range(int(seconds) + 1)]
    for r in records:
        s = min(int(r["end"]), len(per_second) - 1)
        if r["error"] is None:
            per_second[s]["ok"] += 1
        elif r["op"] == "GET":
            per_second[s]["get_errors"] += 1
        else:
            per_second[s]["put_errors"] += 1
    phase_end = marks[0][0]
    baseline = statistics.median([p["ok"] for p in per_second[1:int(phase_end)]] or [0])
    restored = marks[-1][0]
    recovery = None
    for s in range(int(restored) + 1, len(per_second) - 1):
        if per_second[s]["ok"] >= 0.8 * baseline:
            recovery = max(0.0, s - restored)
            break
    bounds = [0.0] + [m[0] for m in marks] + [max(r["end"] for r in records)]
    phases = []
    for a, b in zip(bounds, bounds[1:]):
        ok = sum(1 for r in records if r["error"] is None and a <= r["end"] < b)
        phases.append(ok / max(0.001, b - a))
    errors = {}
    for r in records:
        if r["error"] is not None:
            errors[f"{r['op']} {r['error']}"] = errors.get(f"{r['op']} {r['error']}", 0) + 1
    return {
        "requests": len(records),
        "get_errors": sum(1 for r in records if r["error"] and r["op"] == "GET"),
        "put_errors": sum(1 for r in records if r["error"] and r["op"] == "PUT"),
        "errors_by_kind": errors,
        "baseline_rps": baseline,
        "recovery_seconds": recovery,
        "phase_rps": phases,
        "per_second": per_second,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--spillway", required=True)
    p.add_argument("--seconds-per-phase", type=float, default=6)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--proxies", default="spillway,spillway-least-outstanding,nginx,haproxy",
                   help="spillway (peak_ewma, the default balancer), spillway-least-outstanding, nginx, haproxy")
    args = p.parse_args()
    work = scratch_dir("spillway-chaos-")
    log = open(f"{work}/services.log", "w")
    results = {}
    for proxy in args.proxies.split(","):
        cluster = subprocess.Popen([sys.executable, os.path.join(ROOT, "cluster/s3cluster.py"), "--exit-with-stdin"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        info = json.loads(cluster.stdout.readline())
        nodes = [n["port"] for n in info["nodes"]]
        port = free_port()
        spill_log = f"{work}/spillway.log"
        if proxy.startswith("spillway"):
            balancer = "least_outstanding" if proxy.endswith("least-outstanding") else "peak_ewma"
            admin_port = free_port()
            service = Service(proxy, [args.spillway, "serve", "--workers", "1", "--log-level", "info", "--balancer", balancer,
                                      "--admin", f"127.0.0.1:{admin_port}",
                                      "--listen", f"127.0.0.1:{port}", *[f"http://127.0.0.1:{n}" for n in nodes]], port,
                              open(spill_log, "w"))
        elif proxy == "nginx":
            with open(f"{work}/chaos-nginx.conf", "w") as f:
                f.write(nginx_conf(work, port, nodes))
            service = Service("nginx", ["nginx", "-c", f"{work}/chaos-nginx.conf", "-p", work], port, log)
        else:
            with open(f"{work}/chaos-haproxy.cfg", "w") as f:
                f.write(haproxy_conf(port, nodes))
            service = Service("haproxy", ["haproxy", "-f", f"{work}/chaos-haproxy.cfg", "-db"], port, log)
        try:
            print(f"==> {proxy}: {args.seconds_per_phase * 5:.0f} s of GET/PUT with faults", flush=True)
            records, marks = run_scenario(proxy, f"http://127.0.0.1:{port}", info, args)
            counts = spillway_counts(admin_port) if proxy.startswith("spillway") else {}
        finally:
            service.stop()
            cluster.stdin.close()
            cluster.wait(timeout=10)
        summary = summarize(records, marks, args.seconds_per_phase * 5 + 2)
        summary["marks"] = marks
        summary.update(counts)
        results[proxy] = summary
        print(f"    {summary['requests']} requests, GET errors {summary['get_errors']}, PUT errors {summary['put_errors']}, "
              f"recovery {summary['recovery_seconds']} s {summary['errors_by_kind']}", flush=True)
    write_report(results, args)


def spillway_counts(admin_port):
    """Spillway's own account of its failure handling, from its Prometheus metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5).read().decode()

    def total(name):
        return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if re.match(rf"{name}(\{{| )", line)))
    return {"retries": total("spillway_retries_total"), "resumes": total("spillway_resumes_total"),
            "hedges": total("spillway_hedges_total"), "ejections": total("spillway_node_ejections"),
            "budget_exhausted": total("spillway_retry_budget_refused")}


def write_report(results, args):
    phase = args.seconds_per_phase
    lines = [f"Chaos run (`spillway` uses its default balancer, peak_ewma): {time.strftime('%Y-%m-%d %H:%M')}, {args.threads} boto3 clients (retries off) doing GET and PUT of "
             f"64 KiB objects against 3 moto nodes (SigV4 checked); phases of {phase:.0f} s: normal, node 1 killed, "
             "node 2 slow (300 ms per request), node 3 throttling (50 % `503 SlowDown`), all restored; each fault stays until the restore. "
             "Recovery: seconds after the restore until throughput is back at 80 % of the normal phase. "
             "Command: `bench/chaos.sh`", "",
             "| Proxy | requests | GET errors | PUT errors | req/s: normal | killed | + slow | + throttling | restored | recovery | notes |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for proxy, s in results.items():
        notes = ", ".join(f"{k}: {v}" for k, v in s["errors_by_kind"].items()) or "no errors"
        if proxy.startswith("spillway"):
            notes += (f"; {s['retries']} retries, {s['resumes']} resumes, {s['ejections']} ejections, "
                      f"{s['budget_exhausted']} refused by the retry budget (from its /metrics)")
        rec = "—" if s["recovery_seconds"] is None else f"{s['recovery_seconds']:.0f} s"
        rates = " | ".join(f"{x:.0f}" for x in s["phase_rps"])
        lines.append(f"| {proxy} | {s['requests']} | {s['get_errors']} | {s['put_errors']} | {rates} | {rec} | {notes} |")
    table = "\n".join(lines) + "\n"
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "chaos.md"), "w") as f:
        f.write(table)
    with open(os.path.join(args.out, "chaos.json"), "w") as f:
        json.dump(results, f, indent=1)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 6), sharex=True)
    colours = {"spillway": "#1565c0", "spillway-least-outstanding": "#64b5f6", "nginx": "#2e7d32", "haproxy": "#c62828"}
    for proxy, s in results.items():
        xs = range(len(s["per_second"]))
        ax.plot(xs, [p["ok"] for p in s["per_second"]], label=proxy, color=colours[proxy])
        ax2.plot(xs, [p["get_errors"] + p["put_errors"] for p in s["per_second"]], label=proxy, color=colours[proxy])
    for at, label in next(iter(results.values()))["marks"]:
        for a in (ax, ax2):
            a.axvline(at, color="#999", linestyle="--", linewidth=0.8)
        ax.text(at + 0.2, ax.get_ylim()[1] * 0.95, label, fontsize=7, va="top")
    ax.set_ylabel("successful requests / s")
    ax2.set_ylabel("failed requests / s")
    ax2.set_xlabel("seconds")
    ax.legend()
    fig.suptitle("Chaos: a node killed, one slow, one throttling (client retries off)")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "chaos.png"), dpi=110)
    print()
    print(table)


if __name__ == "__main__":
    main()
