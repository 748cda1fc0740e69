#!/usr/bin/env python3
"""Adding throughput: coalescing (fan-out) and split downloads (per-connection-limited storage),
Spillway beside NGINX, HAProxy and direct access in one run. See bench/throughput.sh.

Storage is three NGINX nodes serving each connection at a capped rate (`limit_rate`), as object
storage and its networks do per stream; every node logs the body bytes it sent, so the bytes
storage served are counted, not estimated.

1. Fan-out: --readers clients (curl, each its own connection) GET the same object at once. NGINX
   uses proxy_cache with proxy_cache_lock (its best configuration for this); Spillway --coalesce.
2. Fan-out in parts: the same, each client reading the object as boto3's download_file does
   (ranged GETs of 8 MiB parts, ten at a time): Spillway shares each part.
3. One stream: one boto3 client (default settings: get_object, then read the body) reads a large
   object. Spillway --split-above fetches it as ranged parts from the three nodes."""
import glob
import json
import os
import subprocess
import sys
import time

from bench import (GiB, MiB, ROOT, USER, Direct, Sampler, Service, arguments, fmt, free_port, haproxy_conf, median,
                   node_conf, nginx_proxy_conf, parse, start_nodes, workspace)


def nginx_cache_conf(work, port, nodes):
    """NGINX in front of the nodes with proxy_cache and proxy_cache_lock: the first request for an
    object fills the cache, the others wait for it (then read it from the cache)."""
    text = two_workers(nginx_proxy_conf(work, port, nodes)).replace("nginx-proxy.pid", "nginx-cache.pid").replace("nginx-proxy.err", "nginx-cache.err")
    # A cache of its own per run (by port): a scenario never starts with another's object cached.
    cache = f"  proxy_cache_path {work}/cache-{port} levels=1:2 keys_zone=objects:16m max_size=8g inactive=1h use_temp_path=off;\n"
    text = text.replace("  upstream nodes {", cache + "  upstream nodes {", 1)
    return text.replace("      proxy_buffering off;\n", """      proxy_buffering on;
      proxy_cache objects;
      proxy_cache_key $uri;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 1h;
      proxy_cache_lock_age 1h;
      proxy_max_temp_file_size 0;
""", 1)


def two_workers(conf):
    """Every proxy here gets the machine's two cores: NGINX two workers, HAProxy two threads."""
    return conf.replace("worker_processes 1;", "worker_processes 2;").replace("nbthread 1", "nbthread 2")


def storage_bytes(work):
    """Body bytes the nodes sent since the last call (their logs are emptied)."""
    total = 0
    time.sleep(0.3)  # nginx writes its log line as the response ends
    for path in glob.glob(f"{work}/node*.bytes"):
        with open(path, "r+") as f:
            total += sum(int(line) for line in f if line.strip().isdigit())
            f.truncate(0)
    return total


def fan_out(target, path, readers, size):
    """`readers` curls at once; when the last had the whole object, and what storage sent."""
    url = f"http://127.0.0.1:{target.port}{path}"
    start = time.monotonic()
    procs = [subprocess.Popen(["curl", "-s", "-o", "/dev/null", "-w", "%{size_download} %{time_total}", "--max-time", "600", url],
                              stdout=subprocess.PIPE, text=True) for _ in range(readers)]
    with Sampler(target.pids) as sampler:
        outs = [p.communicate()[0].split() for p in procs]
    complete = sum(1 for o in outs if o and int(o[0]) == size)
    return {"last_s": time.monotonic() - start, "complete": complete, "peak_rss_mib": sampler.peak / MiB if target.pids else None}


def parts_fan_out(target, path, readers, size, part=8 * MiB, parallel=10):
    """`readers` clients at once, each reading the object as boto3's download_file does: ranged GETs
    of 8 MiB parts, ten at a time, the last part open-ended (one curl per reader, `--parallel`)."""
    url = f"http://127.0.0.1:{target.port}{path}"
    start = time.monotonic()
    procs = []
    for _ in range(readers):
        cmd = ["curl", "-s", "-Z", "--parallel-max", str(parallel)]
        for i, first in enumerate(range(0, size, part)):
            last = "" if first + part >= size else str(first + part - 1)
            cmd += (["--next"] if i else []) + ["-s", "--max-time", "600", "-r", f"{first}-{last}", "-o", "/dev/null",
                                                "-w", "%{size_download}\n", url]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
    with Sampler(target.pids) as sampler:
        outs = [p.communicate()[0].split() for p in procs]
    complete = sum(1 for o in outs if sum(int(x) for x in o) == size)
    return {"last_s": time.monotonic() - start, "complete": complete, "peak_rss_mib": sampler.peak / MiB if target.pids else None}


def one_stream(target, key, size):
    """One boto3 client with default settings: get_object, then read the body through."""
    script = f"""
import boto3, time, json
s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:{target.port}", region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench")
start = time.monotonic()
body = s3.get_object(Bucket="bucket", Key="{key}")["Body"]
got = 0
while True:
    chunk = body.read(1 << 20)
    if not chunk:
        break
    got += len(chunk)
print(json.dumps({{"seconds": time.monotonic() - start, "bytes": got}}))
"""
    with Sampler(target.pids) as sampler:
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return {"error": out.stderr[-300:]}
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return {"seconds": r["seconds"], "mib_s": r["bytes"] / r["seconds"] / MiB, "complete": r["bytes"] == size,
            "peak_rss_mib": sampler.peak / MiB if target.pids else None}


def proxies(args, work, log, node_ports, spillway_flags, nginx_conf):
    nodes = [f"http://127.0.0.1:{p}" for p in node_ports]
    targets = {"direct": Direct(node_ports[0])}
    sp = free_port()
    targets["spillway"] = Service("spillway", [args.spillway, "serve", "--workers", "2", "--log-level", "error", "--admin", "127.0.0.1:0",
                                               "--listen", f"127.0.0.1:{sp}", *spillway_flags, *nodes], sp, log)
    ng = free_port()
    conf = f"{work}/nginx-{len(os.listdir(work))}.conf"
    with open(conf, "w") as f:
        f.write(two_workers(nginx_conf(work, ng, node_ports)))
    targets["nginx"] = Service("nginx", ["nginx", "-c", conf, "-p", work], ng, log)
    ha = free_port()
    with open(f"{work}/haproxy.cfg", "w") as f:
        f.write(two_workers(haproxy_conf(ha, node_ports)))
    targets["haproxy"] = Service("haproxy", ["haproxy", "-f", f"{work}/haproxy.cfg", "-db"], ha, log)
    return targets


def main():
    p = arguments()
    p.add_argument("--readers", type=int, default=64)
    p.add_argument("--fan-out-size", type=int, default=1 * GiB)
    p.add_argument("--fan-out-rate", default="24m", help="fan-out: each node connection's rate (nginx limit_rate)")
    p.add_argument("--stream-size", type=int, default=2 * GiB)
    p.add_argument("--stream-rate", default="48m", help="one stream: each node connection's rate")
    p.add_argument("--scenarios", default="fan-out,parts-fan-out,one-stream")
    args = parse(p)
    work, data, log = workspace("throughput")
    targets_order = ["direct", "spillway", "nginx", "haproxy"]
    results = {"meta": {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(), "command": " ".join(["bench/throughput.sh"] + sys.argv[3:])}}
    for obj, size in [("fan-out.bin", args.fan_out_size), ("stream.bin", args.stream_size)]:
        with open(f"{data}/bucket/{obj}", "wb") as f:
            for _ in range(size // (64 * MiB)):
                f.write(os.urandom(64 * MiB))
            f.write(os.urandom(size % (64 * MiB)))
    services = []
    os.makedirs(args.out, exist_ok=True)
    try:
        for scenario in args.scenarios.split(","):
            rate = args.stream_rate if scenario == "one-stream" else args.fan_out_rate
            node_ports = [free_port() for _ in range(3)]
            nodes = start_nodes(work, log, [(node_conf(work, data, port, i, rate=rate), port) for i, port in enumerate(node_ports)])
            services += nodes
            if scenario == "parts-fan-out":
                targets = proxies(args, work, log, node_ports, ["--coalesce"], nginx_cache_conf)
            elif scenario == "fan-out":
                targets = proxies(args, work, log, node_ports, ["--coalesce"], nginx_cache_conf)
                both = free_port()
                # Both on, as `--coalesce --split-above`: the one fetch is itself split over the nodes.
                targets["spillway+split"] = Service(
                    "spillway+split", [args.spillway, "serve", "--workers", "2", "--log-level", "error", "--admin", "127.0.0.1:0",
                                       "--listen", f"127.0.0.1:{both}", "--coalesce", "--split-above", "64MiB",
                                       *[f"http://127.0.0.1:{p}" for p in node_ports]], both, log)
            else:
                targets = proxies(args, work, log, node_ports, ["--split-above", "64MiB"], nginx_proxy_conf)
            services += [t for n, t in targets.items() if n != "direct"]
            storage_bytes(work)
            rows = {}
            for name in [t for t in targets_order + ["spillway+split"] if t in targets]:
                t = targets[name]
                for _ in range(args.reps if scenario == "one-stream" else 1):
                    if scenario == "fan-out":
                        r = fan_out(t, "/bucket/fan-out.bin", args.readers, args.fan_out_size)
                        if name == "direct":
                            r["alone_s"] = fan_out(t, "/bucket/fan-out.bin", 1, args.fan_out_size)["last_s"]
                    elif scenario == "parts-fan-out":
                        r = parts_fan_out(t, "/bucket/fan-out.bin", args.readers, args.fan_out_size)
                        if name == "direct":
                            r["alone_s"] = parts_fan_out(t, "/bucket/fan-out.bin", 1, args.fan_out_size)["last_s"]
                    else:
                        r = one_stream(t, "stream.bin", args.stream_size)
                    r["storage_bytes"] = storage_bytes(work)
                    rows.setdefault(name, []).append(r)
                    print(f"{scenario} {name}: {r}", flush=True)
            results[scenario] = rows
            with open(f"{args.out}/throughput.json", "w") as f:
                json.dump(results, f, indent=1)  # kept as each scenario ends
            for s in nodes + [t for n, t in targets.items() if n != "direct"]:
                s.stop()
    finally:
        for s in services:
            s.stop()
    os.makedirs(args.out, exist_ok=True)
    with open(f"{args.out}/throughput.json", "w") as f:
        json.dump(results, f, indent=1)
    with open(f"{args.out}/throughput.md", "w") as f:
        f.write(report(results, args))
    chart(results, f"{args.out}/throughput.png")
    print(open(f"{args.out}/throughput.md").read())


def rate_text(rate):
    """NGINX's limit_rate spelling (`24m`: 24 MiB) as text."""
    units = {"k": "KiB/s", "m": "MiB/s", "g": "GiB/s"}
    return f"{rate[:-1]} {units[rate[-1].lower()]}" if rate[-1:].lower() in units else f"{rate} B/s"


def report(results, args):
    m = results["meta"]
    lines = [f"Throughput benchmark: {m['date']}, {m['cpus']} CPUs. Command: `{m['command']}`", ""]
    order = ["direct", "spillway", "nginx", "haproxy"]
    if "fan-out" in results:
        order = order + ["spillway+split"]
        rows = {t: results["fan-out"][t][0] for t in order}
        alone = rows["direct"].get("alone_s")
        size = args.fan_out_size
        lines += [f"**Fan-out**: {args.readers} clients GET one {size // MiB} MiB object at once; each node connection is served at "
                  f"{rate_text(args.fan_out_rate)}. One reader alone, straight from storage: {fmt(alone)} s.", "",
                  "| | direct | Spillway --coalesce | NGINX proxy_cache_lock | HAProxy | Spillway --coalesce --split-above 64MiB |",
                  "|---|---|---|---|---|---|",
                  "| storage served (× the object) | " + " | ".join(fmt(rows[t]["storage_bytes"] / size) for t in order) + " |",
                  "| last reader done, s | " + " | ".join(fmt(rows[t]["last_s"]) for t in order) + " |",
                  "| last reader ÷ one reader alone direct | " + " | ".join(fmt(rows[t]["last_s"] / alone) if alone else "–" for t in order) + " |",
                  "| readers with the whole object | " + " | ".join(str(rows[t]["complete"]) for t in order) + " |",
                  "| gateway peak RSS MiB | " + " | ".join(fmt(rows[t]["peak_rss_mib"], 1) for t in order) + " |", ""]
    order = ["direct", "spillway", "nginx", "haproxy"]
    if "parts-fan-out" in results:
        rows = {t: results["parts-fan-out"][t][0] for t in order}
        alone = rows["direct"].get("alone_s")
        size = args.fan_out_size
        lines += [f"**Fan-out in parts**: {args.readers} clients read one {size // MiB} MiB object at once as boto3's `download_file` does "
                  f"(ranged GETs of 8 MiB parts, ten at a time); each node connection is served at {rate_text(args.fan_out_rate)}. "
                  f"One reader alone, straight from storage: {fmt(alone)} s.", "",
                  "| | direct | Spillway --coalesce | NGINX proxy_cache_lock | HAProxy |", "|---|---|---|---|---|",
                  "| storage served (× the object) | " + " | ".join(fmt(rows[t]["storage_bytes"] / size) for t in order) + " |",
                  "| last reader done, s | " + " | ".join(fmt(rows[t]["last_s"]) for t in order) + " |",
                  "| last reader ÷ one reader alone direct | " + " | ".join(fmt(rows[t]["last_s"] / alone) if alone else "–" for t in order) + " |",
                  "| readers with the whole object | " + " | ".join(str(rows[t]["complete"]) for t in order) + " |",
                  "| gateway peak RSS MiB | " + " | ".join(fmt(rows[t]["peak_rss_mib"], 1) for t in order) + " |", ""]
    if "one-stream" in results:
        r = results["one-stream"]
        med = {t: median([x.get("mib_s") for x in r[t]]) for t in order}
        size = args.stream_size
        lines += [f"**One stream**: one boto3 client (default settings) reads a {size // MiB} MiB object; each node connection is served "
                  f"at {rate_text(args.stream_rate)}. Median of {len(r['direct'])}.", "",
                  "| | direct | Spillway --split-above 64MiB | NGINX | HAProxy |", "|---|---|---|---|---|",
                  "| MiB/s | " + " | ".join(fmt(med[t]) for t in order) + " |",
                  "| Spillway ÷ this | " + " | ".join(fmt(med["spillway"] / med[t]) + "×" if med[t] else "–" for t in order) + " |",
                  "| storage served (× the object) | " + " | ".join(fmt(median([x.get("storage_bytes") for x in r[t]]) / size) for t in order) + " |",
                  "| complete | " + " | ".join(str(all(x.get("complete") for x in r[t])) for t in order) + " |",
                  "| gateway peak RSS MiB | " + " | ".join(fmt(median([x.get("peak_rss_mib") for x in r[t]]), 1) for t in order) + " |", ""]
    return "\n".join(lines)


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = ["direct", "spillway", "nginx", "haproxy"]
    colours = {"direct": "#9e9e9e", "spillway": "#1565c0", "nginx": "#2e7d32", "haproxy": "#c62828", "spillway+split": "#42a5f5"}
    panels = []
    if "fan-out" in results:
        f = results["fan-out"]
        both = order + ["spillway+split"]
        panels.append(("Fan-out: last reader done (s, lower is better)", [f[t][0]["last_s"] for t in both], both))
        panels.append(("Fan-out: storage bytes (GiB, lower is better)", [f[t][0]["storage_bytes"] / GiB for t in both], both))
    if "parts-fan-out" in results:
        f = results["parts-fan-out"]
        panels.append(("Fan-out in 8 MiB parts: last reader done (s)", [f[t][0]["last_s"] for t in order], order))
    if "one-stream" in results:
        s = results["one-stream"]
        panels.append(("One boto3 stream (MiB/s, higher is better)", [median([x.get("mib_s") for x in s[t]]) or 0 for t in order], order))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4))
    for ax, (title, vals, names) in zip(axes if len(panels) > 1 else [axes], panels):
        bars = ax.bar(names, vals, color=[colours[n] for n in names])
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(title, fontsize=10)
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, b.get_height(), fmt(v, 1), ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
