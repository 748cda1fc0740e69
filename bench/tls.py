#!/usr/bin/env python3
"""TLS and re-signing, measured (see bench/tls.sh): the same workloads with TLS on both sides through
Spillway, NGINX (`ssl` + `proxy_ssl`) and HAProxy (`ssl crt` + `ssl verify`) and straight to a TLS
node, all with one certificate made here by openssl; full handshakes per second on one worker; RSS
per idle TLS connection. Then re-signing against pass-through: Spillway verifying signatures and
passing requests on, against Spillway verifying and re-signing them for a pool with its own key."""
import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import time

import bench as B

WORKLOADS = [w for w in B.WORKLOADS if w["name"] in ("GET 4 KiB", "GET 1 MiB", "PUT 1 MiB", "GET 256 MiB")]


def make_pki(work):
    """A CA and one server certificate (ECDSA P-256, for 127.0.0.1 and localhost), as PEM files."""
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=bench CA",
            "-keyout", f"{work}/ca.key", "-out", f"{work}/ca.pem")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
            "-keyout", f"{work}/server.key", "-out", f"{work}/server.csr")
    with open(f"{work}/san.ext", "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", f"{work}/server.csr", "-CA", f"{work}/ca.pem", "-CAkey", f"{work}/ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", f"{work}/san.ext", "-out", f"{work}/server.pem")
    with open(f"{work}/server-combined.pem", "w") as f:
        f.write(open(f"{work}/server.pem").read() + open(f"{work}/server.key").read())
    return {"ca": f"{work}/ca.pem", "cert": f"{work}/server.pem", "key": f"{work}/server.key", "combined": f"{work}/server-combined.pem"}


def node_conf(work, data, plain, secure, index, pki):
    """An NGINX storage node on two ports: plain HTTP and TLS."""
    conf = B.node_conf(work, data, plain, index)
    return conf.replace(f"listen 127.0.0.1:{plain} backlog=8192;",
                        f"listen 127.0.0.1:{plain} backlog=8192;\n    listen 127.0.0.1:{secure} ssl backlog=8192;\n"
                        f"    ssl_certificate {pki['cert']}; ssl_certificate_key {pki['key']};")


def nginx_conf(work, port, nodes, pki):
    conf = B.nginx_proxy_conf(work, port, nodes).replace("nginx-proxy.pid", "nginx-tls.pid").replace("nginx-proxy.err", "nginx-tls.err")
    conf = conf.replace(f"listen 127.0.0.1:{port} backlog=8192;",
                        f"listen 127.0.0.1:{port} ssl backlog=8192;\n    ssl_certificate {pki['cert']}; ssl_certificate_key {pki['key']};")
    return conf.replace("proxy_pass http://nodes;",
                        "proxy_pass https://nodes;\n      proxy_ssl_verify on; proxy_ssl_trusted_certificate " + pki["ca"] + ";\n"
                        "      proxy_ssl_name localhost; proxy_ssl_server_name on; proxy_ssl_session_reuse on;")


def haproxy_conf(port, nodes, pki):
    conf = B.haproxy_conf(port, nodes).replace(f"bind 127.0.0.1:{port}", f"bind 127.0.0.1:{port} ssl crt {pki['combined']}")
    for i, p in enumerate(nodes):
        conf = conf.replace(f"server n{i} 127.0.0.1:{p}",
                            f"server n{i} 127.0.0.1:{p} ssl verify required ca-file {pki['ca']} verifyhost localhost sni str(localhost)")
    return conf


def spillway(args, work, log, name, yaml):
    path = f"{work}/{name}.yaml"
    with open(path, "w") as f:
        f.write(yaml)
    port = int(yaml.split("address: 127.0.0.1:", 1)[1].split(",", 1)[0].split(" ", 1)[0].strip("} ")) if "address:" in yaml \
        else int(yaml.split("listen: 127.0.0.1:", 1)[1].split("\n", 1)[0])
    return B.Service(name, [args.spillway, "serve", "--config", path, "--log-level", "error"], port, log)


def handshakes(target, seconds, count):
    """Full TLS handshakes per second: hey with keep-alive off opens a new connection (and, with no
    session cache, makes a full handshake) for every request."""
    pids = target.pids
    user0, kernel0 = B.cpu_seconds(pids)
    out = subprocess.run(["hey", "-n", str(count), "-c", "16", "-z", f"{seconds}s", "-disable-keepalive",
                          f"https://127.0.0.1:{target.port}/bucket/obj-4k"], capture_output=True, text=True)
    user1, kernel1 = B.cpu_seconds(pids)
    rate = next((float(l.split()[1]) for l in out.stdout.splitlines() if l.strip().startswith("Requests/sec:")), None)
    codes = [l for l in out.stdout.splitlines() if "[200]" in l]
    return {"per_second": rate, "cpu_s": (user1 - user0) + (kernel1 - kernel0), "ok": bool(codes)}


def idle_tls_rss(target, ca, count):
    """RSS per idle TLS connection: `count` connections handshaken and left open."""
    before = B.rss_bytes(target.pids)
    context = ssl.create_default_context(cafile=ca)
    held = []
    for _ in range(count):
        raw = socket.create_connection(("127.0.0.1", target.port), timeout=10)
        held.append(context.wrap_socket(raw, server_hostname="localhost"))
    time.sleep(1)
    after = B.rss_bytes(target.pids)
    for s in held:
        s.close()
    return (after - before) / 1024 / count


def signed_script(work, name, port, workload, key, secret):
    """A wrk Lua file sending the workload's request SigV4-signed with `key` (a fixed signature:
    valid for the gateway's clock skew, longer than a run)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b"s" * B.MiB if workload["put"] else b""
    headers = {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    request = AWSRequest(method="PUT" if workload["put"] else "GET", url=f"http://127.0.0.1:{port}{workload['path']}", headers=headers)
    SigV4Auth(Credentials(key, secret), "s3", "us-east-1").add_auth(request)
    lines = [f'wrk.headers["{k}"] = "{v}"' for k, v in request.headers.items() if k.lower() != "host"]
    path = f"{work}/{name}-{workload['name'].replace(' ', '_')}.lua"
    with open(path, "w") as f:
        f.write(("\n".join(lines) + "\n") + (B.LUA_PUT if workload["put"] else B.LUA_REPORT))
    return path


def main():
    p = B.arguments()
    p.add_argument("--resign-only", action="store_true",
                   help="only the re-signing rows (into resign.md/json): a quicker before/after of the signer")
    args = B.parse(p)
    work, data, log = B.workspace("tls-bench")
    services = []
    pki = make_pki(work)
    try:
        plain = [B.free_port() for _ in range(3)]
        secure = [B.free_port() for _ in range(3)]
        services += B.start_nodes(work, log, [(node_conf(work, data, plain[i], secure[i], i, pki), plain[i]) for i in range(3)])

        # --- TLS on both sides -------------------------------------------------------------------
        tls = {"direct": B.Direct(secure[0], "https")}
        sp = B.free_port()
        tls["spillway"] = spillway(args, work, log, "spillway-tls", f"""
listen:
  - {{ address: 127.0.0.1:{sp}, tls: {{ certificate: {pki['cert']}, key: {pki['key']} }} }}
workers: 1
pools:
  - name: nodes
    nodes: [{', '.join(f'https://127.0.0.1:{q}' for q in secure)}]
    tls: {{ ca_file: {pki['ca']}, server_name: localhost }}
admin: {{ listen: 127.0.0.1:0, token: bench }}
""")
        ng = B.free_port()
        with open(f"{work}/nginx-tls.conf", "w") as f:
            f.write(nginx_conf(work, ng, secure, pki))
        tls["nginx"] = B.Service("nginx", ["nginx", "-c", f"{work}/nginx-tls.conf", "-p", work], ng, log)
        ha = B.free_port()
        with open(f"{work}/haproxy-tls.cfg", "w") as f:
            f.write(haproxy_conf(ha, secure, pki))
        tls["haproxy"] = B.Service("haproxy", ["haproxy", "-f", f"{work}/haproxy-tls.cfg", "-db"], ha, log)
        for t in tls.values():
            t.scheme = "https"
        services += [t for n, t in tls.items() if n != "direct"]

        # --- re-signing against pass-through ------------------------------------------------------
        client, secret = "AKIABENCHCLIENT00001", "bench-client-secret"
        auth = f"auth: {{ verify_signatures: true, credentials: {{ {client}: {secret} }} }}"
        resign = {}
        for name, extra in [("pass-through", ""),
                            ("re-signed", "    credentials: { access_key_id: BENCHPOOL, secret_access_key: bench-pool-secret }\n"
                                          "    signing: { region: us-east-1 }\n")]:
            port = B.free_port()
            target = spillway(args, work, log, f"spillway-{name}", f"""listen: 127.0.0.1:{port}
workers: 1
{auth}
pools:
  - name: nodes
    nodes: [{', '.join(f'http://127.0.0.1:{q}' for q in plain)}]
{extra}admin: {{ listen: 127.0.0.1:0, token: bench }}
""")
            target.name = name
            scripts = {w["name"]: signed_script(work, name, port, w, client, secret) for w in WORKLOADS}
            target.script = lambda w, scripts=scripts: scripts[w["name"]]
            resign[name] = target
            services.append(target)

        results = {"tls": {w["name"]: {t: [] for t in tls} for w in WORKLOADS},
                   "resign": {w["name"]: {t: [] for t in resign} for w in WORKLOADS}}
        for rep in range(args.reps):
            for group, targets in ((("resign", resign),) if args.resign_only else (("tls", tls), ("resign", resign))):
                order = list(targets)
                for w in WORKLOADS:
                    for t in order[rep % len(order):] + order[: rep % len(order)]:
                        r = B.measure(work, targets[t], w, args.duration, args.warmup)
                        results[group][w["name"]][t].append(r)
                        print(f"rep {rep + 1} {group:<6} {w['name']:<12} {t:<12} {r['rps']:>10,.0f} req/s {r['gbps']:>7.3f} GB/s "
                              f"cpu {r['cpu_s']:.2f} s errors {r['errors']}", flush=True)
        shakes = idle = None
        if not args.resign_only:
            shakes = {t: handshakes(tls[t], args.duration, 200_000) for t in ("spillway", "nginx", "haproxy")}
            print(f"handshakes: {shakes}", flush=True)
            idle = {t: B.median([idle_tls_rss(tls[t], pki["ca"], 500) for _ in range(2)]) for t in ("spillway", "nginx", "haproxy")}
            print(f"RSS KiB per idle TLS connection: {idle}", flush=True)

        meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(), "reps": args.reps, "seconds": args.duration,
                "warmup": args.warmup, "command": "bench/tls.sh " + " ".join(sys.argv[3:])}
        table = report(results, shakes, idle, meta)
        os.makedirs(args.out, exist_ok=True)
        name = "resign" if args.resign_only else "tls"
        with open(os.path.join(args.out, f"{name}.md"), "w") as f:
            f.write(table)
        with open(os.path.join(args.out, f"{name}.json"), "w") as f:
            json.dump({"meta": meta, "results": results, "handshakes": shakes, "idle_rss_kib": idle}, f, indent=1)
        print()
        print(table)
    finally:
        for s in reversed(services):
            s.stop()


def report(results, shakes, idle, meta):
    def rows_for(w):
        rows = [(w["unit"], "rps" if w["unit"] == "req/s" else "gbps"), ("CPU s / GB", "cpu_per_gb")]
        if w["name"] == "GET 4 KiB":
            rows += [("user CPU µs / req", "user_us"), ("kernel CPU µs / req", "kernel_us")]
        return rows + [("errors", "errors")]

    tls_targets = ["direct", "spillway", "nginx", "haproxy"]
    lines = [f"TLS benchmark: {meta['date']}, {meta['cpus']} CPUs, {meta['reps']} interleaved repetitions of {meta['seconds']} s "
             f"(after {meta['warmup']} s warm-up), medians, one worker each. Command: `{meta['command']}`", ""]
    if shakes is not None:
        lines += tls_section(results, shakes, idle, rows_for, tls_targets)
    resign_targets = ["pass-through", "re-signed"]
    lines += ["Re-signing (wrk sends SigV4-signed requests; Spillway verifies them, then passes them on, or re-signs them for a pool "
              "with its own key; plain HTTP nodes):", "",
              "| Workload | Figure | pass-through | re-signed | re-signed ÷ pass-through |", "|---|---|---|---|---|"]
    lines += B.ratio_table(results["resign"], WORKLOADS, resign_targets, rows_for, [("re-signed", "pass-through")])
    return "\n".join(lines) + "\n"


def tls_section(results, shakes, idle, rows_for, tls_targets):
    lines = ["TLS on both sides (wrk over HTTPS to the proxy, the proxy over HTTPS to NGINX nodes; one ECDSA P-256 certificate; "
             "each peer's TLS 1.3 defaults):", "",
             "| Workload | Figure | " + " | ".join(tls_targets) + " | Spillway ÷ direct | Spillway ÷ NGINX | Spillway ÷ HAProxy |",
             "|---|---|" + "---|" * len(tls_targets) + "---|---|---|"]
    lines += B.ratio_table(results["tls"], WORKLOADS, tls_targets, rows_for,
                           [("spillway", "direct"), ("spillway", "nginx"), ("spillway", "haproxy")])
    lines += ["", "| Figure | spillway | nginx | haproxy | Spillway ÷ NGINX | Spillway ÷ HAProxy |", "|---|---|---|---|---|---|"]

    def row(label, vals, digits=0):
        r = lambda o: "–" if not vals[o] or vals["spillway"] is None else f"{vals['spillway'] / vals[o]:.2f}×"
        lines.append(f"| {label} | " + " | ".join(B.fmt(vals[t], digits) for t in ("spillway", "nginx", "haproxy")) + f" | {r('nginx')} | {r('haproxy')} |")

    row("full handshakes / s (hey, keep-alive off, 16 connections)", {t: shakes[t]["per_second"] for t in shakes})
    row("RSS KiB per idle TLS connection (500 open)", idle, 1)
    return lines + [""]


if __name__ == "__main__":
    main()
