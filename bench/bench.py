#!/usr/bin/env python3
"""Spillway's benchmark: the same workloads through Spillway, NGINX and HAProxy, and straight to the
storage nodes, interleaved (A B C D A B C D ...) on one machine in one run. See bench/run.sh."""
import argparse
import atexit
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024

# --- processes ------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def descendants(pid):
    """pid and all its children (nginx and haproxy fork workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out


def cpu_seconds(pids):
    """(user, kernel) CPU seconds of the processes so far."""
    user = kernel = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            kernel += int(fields[12])
        except OSError:
            pass
    return user / CLK_TCK, kernel / CLK_TCK


def malloc_probe():
    """The perf event for libc's malloc, added once (needs root and linux-perf)."""
    libc = next(p for p in ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]
                if os.path.exists(p))
    listed = subprocess.run(["perf", "probe", "-l"], capture_output=True, text=True).stdout
    if "probe_libc:malloc" not in listed:
        subprocess.run(["perf", "probe", "-q", "-x", libc, "--add", "malloc"], check=True)
    return "probe_libc:malloc"


def allocations_per_request(work, target, workload, seconds):
    """Heap allocations per request in the target's processes: a uprobe on malloc counts them while
    wrk runs (the count includes the admin listener's background work, a few per second)."""
    run_wrk(work, target.port, workload, 1)
    perf = subprocess.Popen(["perf", "stat", "-x,", "-e", malloc_probe(), "-p", ",".join(map(str, target.pids))],
                            stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    r = run_wrk(work, target.port, workload, seconds)
    perf.send_signal(signal.SIGINT)
    out = perf.communicate(timeout=20)[1]
    count = next(int(l.split(",")[0]) for l in out.splitlines() if "probe_libc:malloc" in l)
    return count / r["requests"]


def rss_bytes(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * KiB
        except OSError:
            pass
    return total


class Sampler:
    """Samples the resident memory of a process tree while a run lasts."""

    def __init__(self, pids):
        self.pids, self.peak, self.stop = pids, rss_bytes(pids), threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pids))
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, rss_bytes(self.pids))


# With BENCH_PIN=1, the proxy under test runs alone on the last CPU, and the storage nodes and wrk
# share the others: the scheduler then cannot move the proxy next to wrk in one run and apart from
# it in the next, which on a 2-vCPU VM moves its CPU per request by half (an A/B option, for
# comparing builds; the published runs leave placement to the scheduler, as deployments do).
PIN = os.environ.get("BENCH_PIN") == "1" and (os.cpu_count() or 1) > 1
PROXY_CPU = str((os.cpu_count() or 1) - 1)
LOAD_CPUS = ",".join(str(c) for c in range((os.cpu_count() or 1) - 1))


def pinned(argv, proxy):
    return (["taskset", "-c", PROXY_CPU if proxy else LOAD_CPUS] + argv) if PIN else argv


class Service:
    def __init__(self, name, argv, port, log):
        self.name, self.port = name, port
        self.proc = subprocess.Popen(pinned(argv, proxy=not name.startswith("node")), stdout=log, stderr=log, start_new_session=True)
        wait_port(port)
        time.sleep(0.2)
        self.startup_rss = rss_bytes(self.pids)  # before any client connected: the per-connection baseline

    @property
    def pids(self):
        return descendants(self.proc.pid)

    def stop(self):
        """Idempotent: a service stopped already is left alone."""
        if self.proc.poll() is not None:
            return
        try:
            # SIGINT: Spillway then skips SIGTERM's shutdown delay; NGINX and HAProxy stop on it too.
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --- configurations -------------------------------------------------------------------------------

USER = "user root;" if os.geteuid() == 0 else ""


def node_conf(work, data, port, index, rate=None):
    """An NGINX storage node: serves /bucket/key from one shared directory; PUT lands there via dav.
    With `rate` (NGINX's `limit_rate` spelling, `24m`), each connection is served at that rate and
    the body bytes of every response are logged to node{index}.bytes."""
    logging = (f"log_format sent '$body_bytes_sent';\n  access_log {work}/node{index}.bytes sent;" if rate else "access_log off;")
    pace = f"\n    limit_rate {rate};" if rate else ""
    return f"""
{USER}
worker_processes 1;
daemon off;
pid {work}/node{index}.pid;
error_log {work}/node{index}.err warn;
events {{ worker_connections 16384; }}
http {{
  {logging}
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_requests 100000000; keepalive_timeout 300s;
  client_body_temp_path {data}/.tmp{index};
  client_max_body_size 0;
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{port} backlog=8192;
    root {data};{pace}
    location /bucket/put/ {{ dav_methods PUT DELETE; create_full_put_path on; }}
  }}
}}
"""


def nginx_proxy_conf(work, port, nodes):
    servers = "\n".join(f"    server 127.0.0.1:{p};" for p in nodes)
    return f"""
{USER}
worker_processes 1;
daemon off;
pid {work}/nginx-proxy.pid;
error_log {work}/nginx-proxy.err warn;
worker_rlimit_nofile 16384;
events {{ worker_connections 16384; }}
http {{
  access_log off;
  tcp_nodelay on;
  keepalive_requests 100000000; keepalive_timeout 300s;
  upstream nodes {{
    least_conn;
{servers}
    keepalive 1024;
    keepalive_requests 100000000;
  }}
  server {{
    listen 127.0.0.1:{port} backlog=8192;
    client_max_body_size 0;
    location / {{
      proxy_pass http://nodes;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_buffer_size 256k;
      proxy_buffers 4 256k;
      proxy_busy_buffers_size 256k;
      proxy_next_upstream error timeout;
    }}
  }}
}}
"""


def haproxy_conf(port, nodes):
    servers = "\n".join(f"  server n{i} 127.0.0.1:{p}" for i, p in enumerate(nodes))
    return f"""
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:{port}
  default_backend nodes
backend nodes
  balance leastconn
{servers}
"""


# --- workloads ------------------------------------------------------------------------------------

LUA_REPORT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"bytes":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

LUA_PUT = r"""
wrk.method = "PUT"
wrk.body = string.rep("s", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
""" + LUA_REPORT

WORKLOADS = [
    # name, path, connections, lua, what the headline figure is
    {"name": "GET 4 KiB", "path": "/bucket/obj-4k", "connections": 64, "put": False, "unit": "req/s"},
    {"name": "GET 1 MiB", "path": "/bucket/obj-1m", "connections": 16, "put": False, "unit": "GB/s"},
    {"name": "GET 256 MiB", "path": "/bucket/obj-256m", "connections": 4, "put": False, "unit": "GB/s"},
    {"name": "PUT 1 MiB", "path": "/bucket/put/obj", "connections": 16, "put": True, "unit": "req/s"},
    {"name": "1,000 connections", "path": "/bucket/obj-4k", "connections": 1000, "put": False, "unit": "req/s"},
]


def run_wrk(work, port, workload, seconds, scheme="http", script=None):
    """`script`: a wrk Lua file instead of the workload's own (bench/tls.py's signed requests)."""
    script = script or os.path.join(work, "put.lua" if workload["put"] else "get.lua")
    argv = ["wrk", "-t1", f"-c{workload['connections']}", f"-d{seconds}s", "--timeout", "10s", "-s", script,
            f"{scheme}://127.0.0.1:{port}{workload['path']}"]
    out = subprocess.run(pinned(argv, proxy=False), capture_output=True, text=True)
    line = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if not line:
        raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
    return json.loads(line[-1])


def measure(work, target, workload, seconds, warmup):
    """One run of `workload` against `target`; a target may say its `scheme` (https) and give its
    own wrk `script(workload)`."""
    scheme = getattr(target, "scheme", "http")
    script = target.script(workload) if hasattr(target, "script") else None
    run_wrk(work, target.port, workload, warmup, scheme, script)
    pids = target.pids if not target.name.startswith("direct") else []
    idle_rss = getattr(target, "startup_rss", 0)
    user0, kernel0 = cpu_seconds(pids)
    with Sampler(pids) as sampler:
        r = run_wrk(work, target.port, workload, seconds, scheme, script)
    user1, kernel1 = cpu_seconds(pids)
    user, kernel = user1 - user0, kernel1 - kernel0
    cpu = user + kernel
    secs = r["duration_us"] / 1e6
    moved = r["requests"] * MiB if workload["put"] else r["bytes"]
    errors = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return {
        "rps": r["requests"] / secs,
        "gbps": moved / secs / 1e9,
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "errors": errors,
        "cpu_s": cpu,
        "cpu_per_gb": cpu / (moved / 1e9) if moved and pids else None,
        "cpu_per_10k": cpu / r["requests"] * 10000 if r["requests"] and pids else None,
        "user_us": user / r["requests"] * 1e6 if r["requests"] and pids else None,
        "kernel_us": kernel / r["requests"] * 1e6 if r["requests"] and pids else None,
        "peak_rss_mib": sampler.peak / MiB if pids else None,
        "startup_rss_mib": idle_rss / MiB if pids else None,
        "rss_per_conn_kib": (sampler.peak - idle_rss) / KiB / workload["connections"] if pids else None,
    }


def bulk_memory(target, size, sampled_pid):
    """A `size` PUT then GET through the target to cluster/bulknode.py; peak RSS against idle."""
    pids = target.pids
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "Tests/clients/s3client.py"), "bulk", "--endpoint",
         f"http://127.0.0.1:{target.port}", "--size", str(size), "--pid", str(sampled_pid)],
        capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": out.stderr[-500:]}
    r = json.loads(out.stdout.strip().splitlines()[-1])
    # The client samples only the main pid; for multi-process proxies read the whole tree as well.
    return {
        "idle_rss_mib": r["idle_rss_kib"] / 1024,
        "peak_rss_mib": r["peak_rss_kib"] / 1024,
        "growth_mib": (r["peak_rss_kib"] - r["idle_rss_kib"]) / 1024,
        "put_gbps": size / r["put_seconds"] / 1e9,
        "get_gbps": size / r["get_seconds"] / 1e9,
        "complete": r["get_received"] == size and str(size) in r["put_reply"],
        "tree_rss_mib": rss_bytes(pids) / MiB,
    }


# --- report ---------------------------------------------------------------------------------------


def alternate(work, targets, workload, rounds, seconds):
    """`rounds` runs of `workload` against each of `targets` (name: service), the order rotated every
    round so that the machine's drift falls on all alike; returns each target's runs and the medians
    of their rate and CPU per request."""
    order = list(targets)
    runs = {t: [] for t in order}
    for round_ in range(rounds):
        for t in order[round_ % len(order):] + order[:round_ % len(order)]:
            runs[t].append(measure(work, targets[t], workload, seconds, 1))
    medians = {t: {k: median([r[k] for r in rs]) for k in ("rps", "gbps", "user_us", "kernel_us")} for t, rs in runs.items()}
    return runs, medians


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=2):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio_table(results, workloads, targets, rows_for, baseline_names):
    """Markdown rows: each workload's figures per target, and Spillway's ratio to each baseline."""
    lines = []
    for w in workloads:
        name = w["name"]
        med = {t: {k: median([r[k] for r in results[name][t]]) for k in results[name][t][0]} for t in targets}
        for label, key in rows_for(w):
            vals = {t: med[t][key] for t in targets}

            def ratio(subject, other):
                a, b = vals[subject], vals[other]
                return "–" if a is None or b in (None, 0) else f"{a / b:.2f}×"

            cells = " | ".join(fmt(vals[t], 3 if key == "gbps" else 2) for t in targets)
            ratios = " | ".join(ratio(subject, other) for subject, other in baseline_names)
            lines.append(f"| {name} | {label} | {cells} | {ratios} |")
    return lines


def report(results, bulk, meta):
    targets = ["direct", "spillway", "nginx", "haproxy"]
    baselines = [("spillway", "direct"), ("spillway", "nginx"), ("spillway", "haproxy")]
    headings = ["Spillway ÷ direct", "Spillway ÷ NGINX", "Spillway ÷ HAProxy"]
    if meta.get("before"):
        targets.append("before")
        baselines += [("before", "nginx"), ("before", "haproxy"), ("spillway", "before")]
        headings += ["before ÷ NGINX", "before ÷ HAProxy", "Spillway ÷ before"]
    lines = [f"Benchmark: {meta['date']}, {meta['cpus']} CPUs, {meta['reps']} interleaved repetitions of "
             f"{meta['seconds']} s (after {meta['warmup']} s warm-up), medians. Command: `{meta['command']}`", ""]
    if meta.get("before"):
        lines += [f"`before` is the build `{meta['before']}`, run beside the others in every repetition.", ""]
    lines.append("| Workload | Figure | " + " | ".join(targets) + " | " + " | ".join(headings) + " |")
    lines.append("|---|---|" + "---|" * (len(targets) + len(headings)))
    def rows_for(w):
        rows = [(w["unit"], "rps" if w["unit"] == "req/s" else "gbps")]
        if w["name"] == "GET 4 KiB":
            rows += [("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("user CPU µs / req", "user_us"), ("kernel CPU µs / req", "kernel_us")]
        rows += [("CPU s / GB", "cpu_per_gb"), ("CPU s / 10k req", "cpu_per_10k"), ("peak RSS MiB", "peak_rss_mib"), ("errors", "errors")]
        if w["name"] == "1,000 connections":
            rows.insert(1, ("RSS KiB / conn", "rss_per_conn_kib"))
        return rows

    lines += ratio_table(results, WORKLOADS, targets, rows_for, baselines)
    if meta.get("allocations"):
        counts = ", ".join(f"{t} {n:.1f}" for t, n in meta["allocations"].items())
        lines += ["", f"Heap allocations per GET 4 KiB (a perf uprobe on libc's malloc while wrk runs): {counts}."]
    if bulk:
        lines += ["", f"5 GiB PUT then 5 GiB GET through each proxy to a bulk node (RSS of the proxy's main process):", "",
                  "| Proxy | idle RSS MiB | peak RSS MiB | growth MiB | PUT GB/s | GET GB/s | complete |", "|---|---|---|---|---|---|---|"]
        for t, b in bulk.items():
            if "error" in b:
                lines.append(f"| {t} | error: {b['error'][:80]} | | | | | |")
                continue
            lines.append(f"| {t} | {fmt(b['idle_rss_mib'],1)} | {fmt(b['peak_rss_mib'],1)} | {fmt(b['growth_mib'],1)} | "
                         f"{fmt(b['put_gbps'],2)} | {fmt(b['get_gbps'],2)} | {'yes' if b['complete'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = ["direct", "spillway", "nginx", "haproxy"]
    colours = {"direct": "#9e9e9e", "spillway": "#1565c0", "nginx": "#2e7d32", "haproxy": "#c62828"}
    fig, axes = plt.subplots(1, len(WORKLOADS), figsize=(4 * len(WORKLOADS), 4))
    for ax, w in zip(axes, WORKLOADS):
        key = "rps" if w["unit"] == "req/s" else "gbps"
        vals = [median([r[key] for r in results[w["name"]][t]]) for t in targets]
        bars = ax.bar(targets, vals, color=[colours[t] for t in targets])
        ax.set_title(f"{w['name']} ({w['unit']})", fontsize=10)
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, b.get_height(), fmt(v, 2), ha="center", va="bottom", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle("Spillway vs NGINX vs HAProxy vs direct (one worker each; higher is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# --- main -----------------------------------------------------------------------------------------


def arguments():
    """The options every bench script takes; a script adds its own, then calls `parse`."""
    p = argparse.ArgumentParser()
    p.add_argument("--spillway", required=True)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--duration", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="1 repetition of 3 s")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    return p


def parse(p):
    args = p.parse_args()
    if args.quick:
        args.reps, args.duration = 1, 3
    return args


_scratch = []


def _remove_scratch():
    for path in _scratch:
        shutil.rmtree(path, ignore_errors=True)


def _exit_on_term(signum, frame):
    raise SystemExit(128 + signum)  # so that atexit runs: a kill of the script removes its directories too


atexit.register(_remove_scratch)
signal.signal(signal.SIGTERM, _exit_on_term)


def scratch_dir(prefix, in_memory=False):
    """A temporary directory removed when the script exits (however it exits, short of SIGKILL).
    `in_memory`: on /dev/shm when there is one. A bench's data there is RAM: the throughput bench's
    3.3 GB left behind by each run once filled a 24 GiB machine until the test suite was OOM-killed."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/dev/shm" if in_memory and os.path.isdir("/dev/shm") else None)
    _scratch.append(path)
    return path


def workspace(name):
    """A work directory with the wrk scripts, and a data directory (in memory when it can be)
    holding the objects the NGINX nodes serve, both removed at exit. Returns (work, data, services log)."""
    work = scratch_dir(f"spillway-{name}-")
    data = scratch_dir(f"spillway-{name}-data-", in_memory=True)
    os.makedirs(f"{data}/bucket/put", exist_ok=True)
    for obj, size in [("obj-4k", 4 * KiB), ("obj-1m", MiB), ("obj-256m", 256 * MiB)]:
        with open(f"{data}/bucket/{obj}", "wb") as f:
            f.write(os.urandom(size))
    with open(f"{work}/get.lua", "w") as f:
        f.write(LUA_REPORT)
    with open(f"{work}/put.lua", "w") as f:
        f.write(LUA_PUT)
    return work, data, open(f"{work}/services.log", "w")


def start_nodes(work, log, confs):
    """NGINX storage nodes, one per (config text, port it is ready on)."""
    services = []
    for i, (text, port) in enumerate(confs):
        conf = f"{work}/node{i}.conf"
        with open(conf, "w") as f:
            f.write(text)
        services.append(Service(f"node{i}", ["nginx", "-c", conf, "-p", work], port, log))
    return services


def start_storage(work, data, log, count=3):
    """The usual storage behind every target: `count` NGINX nodes serving the bench objects.
    Returns their services and their ports."""
    ports = [free_port() for _ in range(count)]
    return start_nodes(work, log, [(node_conf(work, data, port, i), port) for i, port in enumerate(ports)]), ports


class Direct:
    """Straight to a node: no proxy, so no processes of its own to measure."""

    def __init__(self, port, scheme="http"):
        self.name, self.port, self.pids, self.startup_rss, self.scheme = "direct", port, [], 0, scheme


def main():
    p = arguments()
    p.add_argument("--only", action="append", default=[], help="a workload to run (repeat for more; names hold commas)")
    p.add_argument("--targets", default="direct,spillway,nginx,haproxy")
    p.add_argument("--bulk-size", type=int, default=5 * GiB, help="0 skips the 5 GiB memory test")
    p.add_argument("--allocations", action="store_true", help="count heap allocations per GET 4 KiB (needs root and perf)")
    p.add_argument("--before", help="a Spillway build from before a change, run as one more target (\"before\") interleaved "
                                    "with the others, so a data-plane change's before and after share one run")
    args = parse(p)
    work, data, log = workspace("bench")
    services = []
    try:
        started, node_ports = start_storage(work, data, log)
        services += started
        targets = {"direct": Direct(node_ports[0])}
        sp_port = free_port()
        nodes = [f"http://127.0.0.1:{p}" for p in node_ports]
        # Metrics on (an admin listener, as in production); access log off, as NGINX's is here.
        targets["spillway"] = Service("spillway", [args.spillway, "serve", "--workers", "1", "--log-level", "error",
                                                   "--admin", "127.0.0.1:0",
                                                   "--listen", f"127.0.0.1:{sp_port}", *nodes], sp_port, log)
        if args.before:
            before_port = free_port()
            targets["before"] = Service("before", [args.before, "serve", "--workers", "1", "--log-level", "error",
                                                   "--admin", "127.0.0.1:0",
                                                   "--listen", f"127.0.0.1:{before_port}", *nodes], before_port, log)
        ng_port = free_port()
        with open(f"{work}/nginx-proxy.conf", "w") as f:
            f.write(nginx_proxy_conf(work, ng_port, node_ports))
        targets["nginx"] = Service("nginx", ["nginx", "-c", f"{work}/nginx-proxy.conf", "-p", work], ng_port, log)
        ha_port = free_port()
        with open(f"{work}/haproxy.cfg", "w") as f:
            f.write(haproxy_conf(ha_port, node_ports))
        targets["haproxy"] = Service("haproxy", ["haproxy", "-f", f"{work}/haproxy.cfg", "-db"], ha_port, log)
        services += [t for n, t in targets.items() if n != "direct"]
        order = [t for t in args.targets.split(",") + (["before"] if args.before else []) if t in targets]
        unknown = [n for n in args.only if n not in [w["name"] for w in WORKLOADS]]
        if unknown:
            sys.exit(f"unknown workload {unknown}; the workloads are: {[w['name'] for w in WORKLOADS]}")
        workloads = [w for w in WORKLOADS if not args.only or w["name"] in args.only]

        results = {w["name"]: {t: [] for t in order} for w in workloads}
        for rep in range(args.reps):
            for w in workloads:
                rotation = order[rep % len(order):] + order[: rep % len(order)]
                for t in rotation:
                    r = measure(work, targets[t], w, args.duration, args.warmup)
                    results[w["name"]][t].append(r)
                    print(f"rep {rep + 1} {w['name']:<18} {t:<9} {r['rps']:>10,.0f} req/s {r['gbps']:>7.3f} GB/s "
                          f"p99 {r['p99_ms']:.2f} ms cpu {r['cpu_s']:.2f} s rss {fmt(r['peak_rss_mib'],1)} MiB "
                          f"errors {r['errors']}", flush=True)

        allocations = {}
        if args.allocations:
            get4k = next(w for w in WORKLOADS if w["name"] == "GET 4 KiB")
            for t in order:
                if t != "direct":
                    allocations[t] = allocations_per_request(work, targets[t], get4k, args.duration)
                    print(f"allocations per GET 4 KiB, {t}: {allocations[t]:.1f}", flush=True)

        bulk = {}
        if args.bulk_size:
            bulk_node = subprocess.Popen([sys.executable, os.path.join(ROOT, "cluster/bulknode.py")],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            bulk_port = json.loads(bulk_node.stdout.readline())["port"]
            bulk_targets = {}
            bp = free_port()
            bulk_targets["spillway"] = Service("spillway-bulk", [args.spillway, "serve", "--workers", "1", "--log-level", "error",
                                                                 "--admin", "127.0.0.1:0", "--listen", f"127.0.0.1:{bp}", f"http://127.0.0.1:{bulk_port}"], bp, log)
            bn = free_port()
            with open(f"{work}/nginx-bulk.conf", "w") as f:
                f.write(nginx_proxy_conf(work, bn, [bulk_port]).replace("nginx-proxy.pid", "nginx-bulk.pid"))
            bulk_targets["nginx"] = Service("nginx-bulk", ["nginx", "-c", f"{work}/nginx-bulk.conf", "-p", work], bn, log)
            bh = free_port()
            with open(f"{work}/haproxy-bulk.cfg", "w") as f:
                f.write(haproxy_conf(bh, [bulk_port]))
            bulk_targets["haproxy"] = Service("haproxy-bulk", ["haproxy", "-f", f"{work}/haproxy-bulk.cfg", "-db"], bh, log)
            services += list(bulk_targets.values())
            for name, target in bulk_targets.items():
                # nginx and haproxy: their worker holds the data path; sample it rather than the master.
                sampled = target.pids[-1] if name != "spillway" else target.proc.pid
                bulk[name] = bulk_memory(target, args.bulk_size, sampled)
                print(f"bulk {name}: {bulk[name]}", flush=True)
            bulk_node.stdin.close()

        meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(), "reps": args.reps,
                "seconds": args.duration, "warmup": args.warmup,
                "command": "bench/run.sh " + " ".join(sys.argv[3:]), "allocations": allocations, "before": args.before}
        os.makedirs(args.out, exist_ok=True)
        if len(workloads) < len(WORKLOADS) or len(order) < 4 + bool(args.before):
            # The table and chart compare every target on every workload; a partial run (--only,
            # --targets) keeps its figures in JSON and the lines above, and leaves latest.md alone.
            with open(os.path.join(args.out, "partial.json"), "w") as f:
                json.dump({"meta": meta, "results": results, "bulk": bulk}, f, indent=1)
            print(f"partial run: figures above and in {os.path.join(args.out, 'partial.json')}; no table", flush=True)
            return
        table = report(results, bulk, meta)
        with open(os.path.join(args.out, "latest.md"), "w") as f:
            f.write(table)
        with open(os.path.join(args.out, "latest.json"), "w") as f:
            json.dump({"meta": meta, "results": results, "bulk": bulk}, f, indent=1)
        chart(results, os.path.join(args.out, "latest.png"))
        print()
        print(table)
    finally:
        for s in reversed(services):
            s.stop()


if __name__ == "__main__":
    main()
