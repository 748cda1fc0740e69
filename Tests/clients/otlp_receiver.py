#!/usr/bin/env python3
"""Stands in for an OpenTelemetry collector in the tracing test: accepts OTLP/HTTP JSON exports
(POST /v1/traces, opentelemetry-proto's JSON mapping) and serves what it received, flattened,
at GET /spans. Prints {"port": N} on start; exits when stdin closes."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

spans, lock = [], threading.Lock()


def value(v):
    for kind in ("stringValue", "boolValue", "doubleValue"):
        if kind in v:
            return v[kind]
    if "intValue" in v:
        return int(v["intValue"])
    if "arrayValue" in v:
        return [value(x) for x in v["arrayValue"].get("values", [])]
    raise ValueError(f"not an OTLP AnyValue: {v}")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/json":
            self.send_response(404)
            self.end_headers()
            return
        request = json.loads(body)  # a body that is not JSON fails loudly here
        got = []
        for rs in request["resourceSpans"]:
            resource = {a["key"]: value(a["value"]) for a in rs["resource"]["attributes"]}
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    got.append({
                        "resource": resource, "traceId": s["traceId"], "spanId": s["spanId"],
                        "parentSpanId": s.get("parentSpanId"), "name": s["name"], "kind": s["kind"],
                        "start": int(s["startTimeUnixNano"]), "end": int(s["endTimeUnixNano"]),
                        "attributes": {a["key"]: value(a["value"]) for a in s["attributes"]},
                        "events": [{"name": e["name"], "attributes": {a["key"]: value(a["value"]) for a in e["attributes"]}}
                                   for e in s.get("events", [])],
                        "status": s.get("status", {}).get("code", 0),
                    })
        with lock:
            spans.extend(got)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):
        with lock:
            data = json.dumps({"spans": spans}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(json.dumps({"port": server.server_address[1]}), flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
