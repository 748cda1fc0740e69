#!/usr/bin/env python3
"""A real S3 storage cluster for Spillway's tests and demo.

One moto application (a real S3 implementation, from PyPI's moto[server]) is served on several
loopback ports in one process, so the nodes share one namespace like the nodes of one ObjectScale,
Ceph RGW or MinIO cluster. Request authentication is on: every node verifies SigV4 signatures
against an IAM user created at start-up, so a request whose signature a proxy broke is refused.

Any node can be stopped (its listening socket and every open connection are closed, as when a
server dies) and started again on the same port, and any node can be made to misbehave, through a
small control API:

    GET  /state              -> {"nodes": [{"index": 0, "port": 9001, "up": true, "connections": 2,
                                            "fault": {"mode": "none"}}, ...], ...}
    POST /nodes/<i>/stop
    POST /nodes/<i>/start
    POST /nodes/<i>/fault    body: {"mode": "none"}
                                   {"mode": "delay", "ms": 200}            every request waits first
                                   {"mode": "slowdown", "probability": 1}  503 SlowDown, Retry-After: 1
                                   {"mode": "stall", "after_bytes": N}     a response body stops after N bytes
                                   {"mode": "reset", "after_bytes": N}     a response body is cut by a TCP reset
                                   {"mode": "error", "status": 500}        every request gets that status
                                   {"mode": "rate", "bytes_per_second": N} response bodies are sent at that pace
                             any fault may add "times": N (then it clears itself) and "method": "GET"
    POST /fault              the same, for whichever node serves the next matching request
                             (so a test can cut "the next download", wherever it lands)

On start-up one JSON line goes to stdout: node ports, control port and the credentials.
With --exit-with-stdin the process ends when its stdin closes (so a test runner that dies takes
the cluster with it).
"""
import argparse
import hashlib
import io
import json
import os
import socket
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")

from moto.server import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402

REGION = "us-east-1"


def verify_raw_request_target():
    """moto re-encodes the request path before checking a signature, so keys with `+`, `%` or
    non-ASCII characters fail even when a client talks to it directly. AWS signs the path exactly as
    sent; make moto check that (werkzeug keeps it in RAW_URI), which is also the stricter test of a
    proxy: one re-encoded byte and the signature no longer matches."""
    from moto.core.authorization import ActionAuthenticatorMixin

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def checked(self, iam_request_cls, resource="*"):
        request = getattr(self, "request", None)
        environ = getattr(request, "environ", {}) if request is not None else {}
        if environ.get(PRESIGNED_OK):
            return None  # PresignedURLCheck verified this request's query signature
        raw = environ.get("RAW_URI")
        if not raw:
            return original(self, iam_request_cls, resource)
        saved = self.uri
        self.uri = "http://node" + raw
        try:
            return original(self, iam_request_cls, resource)
        finally:
            self.uri = saved

    ActionAuthenticatorMixin._authenticate_and_authorize_action = checked


verify_raw_request_target()

PRESIGNED_OK = "spillway.presigned-signature-verified"


class PresignedURLCheck:
    """moto's auth mode answers presigned URLs with HTTP 500 (it looks for an Authorization header).
    This WSGI layer verifies a presigned URL's query signature the way AWS does (SigV4, UNSIGNED-PAYLOAD,
    the path exactly as sent, expiry) and refuses it with 403, or lets moto serve it."""

    def __init__(self, app, keys):
        self.app, self.keys = app, keys  # keys: access key id -> secret

    def __call__(self, environ, start_response):
        raw = environ.get("RAW_URI", "")
        path, _, query = raw.partition("?")
        if "X-Amz-Signature=" in query:
            problem = self.problem(environ, path, query)
        elif "AWSAccessKeyId=" in query:
            problem = ("InvalidRequest", "This cluster checks SigV4 presigned URLs only; presign with signature_version s3v4.")
        elif self.keys and not environ.get("HTTP_AUTHORIZATION") and not path.startswith("/moto-api"):
            # moto answers anonymous requests with HTTP 500; S3 answers 403 AccessDenied (and health
            # probes rely on that: any answer below 500 means the node is alive).
            problem = ("AccessDenied", "Access Denied")
        else:
            return self.app(environ, start_response)
        if problem:
            code, message = problem
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
                "<RequestId>presign-check</RequestId></Error>" % (code, message)
            ).encode()
            start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
            return [body]
        environ[PRESIGNED_OK] = True
        return self.app(environ, start_response)

    def problem(self, environ, path, query):
        import datetime
        import hashlib
        import hmac
        from urllib.parse import quote, unquote

        pairs = [p.partition("=") for p in query.split("&") if p]
        params = [(unquote(k), unquote(v)) for k, _, v in pairs]
        values = dict(params)
        try:
            access, date, region, service, _ = values["X-Amz-Credential"].split("/")
            amz_date = values["X-Amz-Date"]
            expires = int(values["X-Amz-Expires"])
            signed_headers = values["X-Amz-SignedHeaders"].split(";")
            signature = values["X-Amz-Signature"]
        except (KeyError, ValueError):
            return "AuthorizationQueryParametersError", "Query-string authentication requires X-Amz-* parameters."
        secret = self.keys.get(access)
        if secret is None:
            return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        if datetime.datetime.now(datetime.timezone.utc) > signed_at + datetime.timedelta(seconds=expires):
            return "AccessDenied", "Request has expired"

        def enc(text):
            return quote(text, safe="-_.~")

        canonical_query = "&".join(
            f"{enc(k)}={enc(v)}" for k, v in sorted(params) if k != "X-Amz-Signature"
        )

        def header(name):
            if name == "content-type":
                return environ.get("CONTENT_TYPE", "")
            if name == "content-length":
                return environ.get("CONTENT_LENGTH", "")
            return environ.get("HTTP_" + name.upper().replace("-", "_"), "")

        canonical_headers = "".join(f"{h}:{' '.join(header(h).split())}\n" for h in signed_headers)
        canonical_request = "\n".join(
            [environ["REQUEST_METHOD"], path, canonical_query, canonical_headers, ";".join(signed_headers), "UNSIGNED-PAYLOAD"]
        )
        scope = f"{date}/{region}/{service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
        key = ("AWS4" + secret).encode()
        for part in (date, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
        return None
USER = "spillway-tester"


class FaultSlot:
    """One fault setting, consumed `times` times if given (thread-safe: nodes serve in parallel)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.fault = {"mode": "none"}

    def take(self, environ):
        with self.lock:
            fault = self.fault
            if fault.get("mode", "none") == "none":
                return None
            if fault.get("method") and fault["method"] != environ.get("REQUEST_METHOD"):
                return None
            if "times" in fault:
                fault = dict(fault)
                self.fault["times"] -= 1
                if self.fault["times"] <= 0:
                    self.fault = {"mode": "none"}
            return fault


CLUSTER_FAULT = FaultSlot()


class FaultInjection:
    """A node's misbehaviour, applied in front of the S3 application (see the module docstring)."""

    def __init__(self, app):
        self.app = app
        self.slot = FaultSlot()
        self.requests = 0
        # Object GETs (not health checks, not bucket reads) and the body bytes they were sent.
        self.gets = 0
        self.get_bytes = 0
        self.counts_lock = threading.Lock()

    @property
    def fault(self):
        return self.slot.fault

    def __call__(self, environ, start_response):
        import random
        import time

        if "spillway-health" not in environ.get("HTTP_USER_AGENT", ""):
            self.requests += 1
        fault = self.slot.take(environ) or CLUSTER_FAULT.take(environ) or {"mode": "none"}
        mode = fault.get("mode", "none")
        if mode == "delay":
            time.sleep(fault.get("ms", 100) / 1000)
        elif mode == "slowdown" and random.random() < fault.get("probability", 1.0):
            return self.error(start_response, 503, "SlowDown", "Please reduce your request rate.", retry_after=1)
        elif mode == "error":
            return self.error(start_response, fault.get("status", 500), "InternalError", "Injected failure.")
        body = self.app(environ, start_response)
        if mode in ("stall", "reset") and environ.get("REQUEST_METHOD") == "GET":
            body = self.cut(body, environ, mode, fault.get("after_bytes", 1 << 20), fault.get("stall_seconds", 120))
        elif mode == "rate" and environ.get("REQUEST_METHOD") == "GET":
            body = self.paced(body, fault.get("bytes_per_second", 1 << 20))
        path = environ.get("PATH_INFO", "/")
        if environ.get("REQUEST_METHOD") == "GET" and path.count("/") >= 2 and not path.startswith("/moto-api"):
            with self.counts_lock:
                self.gets += 1
            return self.counted(body)
        return body

    def counted(self, body):
        try:
            for chunk in body:
                with self.counts_lock:
                    self.get_bytes += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close:
                close()

    @staticmethod
    def paced(body, rate):
        """Sends the body at about `rate` bytes a second, in pieces of 64 KiB (storage that is slower
        than the network, so a download lasts long enough to be joined)."""
        import time

        start, sent = time.monotonic(), 0
        for chunk in body:
            for at in range(0, len(chunk), 65536):
                piece = chunk[at:at + 65536]
                sent += len(piece)
                delay = start + sent / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                yield piece

    @staticmethod
    def error(start_response, status, code, message, retry_after=None):
        reasons = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
                "<RequestId>fault</RequestId></Error>" % (code, message)).encode()
        headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
        if retry_after is not None:
            headers.append(("Retry-After", str(retry_after)))
        start_response(f"{status} {reasons.get(status, 'Error')}", headers)
        return [body]

    @staticmethod
    def cut(body, environ, mode, after, stall_seconds):
        import time

        sent = 0
        for chunk in body:
            if sent + len(chunk) <= after:
                sent += len(chunk)
                yield chunk
                continue
            yield chunk[: after - sent]
            if mode == "stall":
                time.sleep(stall_seconds)
            else:
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    import struct

                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    sock.close()  # with linger 0: an RST, not a clean end
            return


class UploadBodyCheck:
    """What storage checks of an upload's body, made visible: every aws-chunked upload signed per
    chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD and -TRAILER) has its chunk signatures verified with
    this cluster's key (moto does not check them); a declared x-amz-content-sha256 is checked
    against the body; with --legacy, aws-chunked uploads are refused as storage that predates
    trailing checksums refuses them. Counts what it saw, for the tests (see /state)."""

    def __init__(self, app, keys, legacy):
        self.app, self.keys, self.legacy = app, keys, legacy
        self.counts = {"chunk_signed_verified": 0, "declared_hash_verified": 0, "aws_chunked_refused": 0, "plain_uploads": 0,
                       "unsigned_payload": 0, "unsigned_trailer": 0}
        self.lock = threading.Lock()

    def count(self, name):
        with self.lock:
            self.counts[name] += 1

    def __call__(self, environ, start_response):
        sha = environ.get("HTTP_X_AMZ_CONTENT_SHA256", "")
        chunked = "aws-chunked" in environ.get("HTTP_CONTENT_ENCODING", "") or sha.startswith("STREAMING-")
        if environ.get("REQUEST_METHOD") not in ("PUT", "POST") or not environ.get("HTTP_AUTHORIZATION"):
            return self.app(environ, start_response)
        if chunked and self.legacy:
            self.count("aws_chunked_refused")
            return FaultInjection.error(start_response, 400, "InvalidArgument", "aws-chunked uploads are not supported.")
        if sha == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
            self.count("unsigned_trailer")
        if environ.get("CONTENT_LENGTH"):
            length = int(environ["CONTENT_LENGTH"])
            body = environ["wsgi.input"].read(length) if length else b""
        elif environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read()  # Transfer-Encoding: chunked, de-chunked by werkzeug
            environ["CONTENT_LENGTH"] = str(len(body))
        else:
            return self.app(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(body)
        if sha.startswith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"):
            problem = self.chunk_problem(environ, body, sha.endswith("-TRAILER"))
            if problem:
                return FaultInjection.error(start_response, 403, "SignatureDoesNotMatch", problem)
            self.count("chunk_signed_verified")
        elif len(sha) == 64:
            if hashlib.sha256(body).hexdigest() != sha:
                return FaultInjection.error(start_response, 400, "XAmzContentSHA256Mismatch", "The body does not match x-amz-content-sha256.")
            self.count("declared_hash_verified")
        elif sha == "UNSIGNED-PAYLOAD":
            self.count("unsigned_payload")
        if not chunked:
            self.count("plain_uploads")
        return self.app(environ, start_response)

    def chunk_problem(self, environ, body, trailer):
        import hmac
        import re

        auth = environ["HTTP_AUTHORIZATION"]
        m = re.search(r"Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request.*Signature=([0-9a-f]{64})", auth)
        if not m or m.group(1) not in self.keys:
            return "unknown credential"
        access, date, region, service, previous = m.groups()
        amz_date = environ.get("HTTP_X_AMZ_DATE", "")
        scope = f"{date}/{region}/{service}/aws4_request"
        key = ("AWS4" + self.keys[access]).encode()
        for part in (date, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        empty = hashlib.sha256(b"").hexdigest()
        at = 0
        while True:
            eol = body.find(b"\r\n", at)
            if eol < 0:
                return "truncated chunk header"
            size_text, _, ext = body[at:eol].decode().partition(";")
            size = int(size_text, 16)
            if not ext.startswith("chunk-signature="):
                return "a chunk without a signature"
            data = body[eol + 2 : eol + 2 + size]
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, empty, hashlib.sha256(data).hexdigest()])
            expected = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            if ext[len("chunk-signature="):] != expected:
                return "chunk signature mismatch"
            previous = expected
            at = eol + 2 + size + 2
            if size == 0:
                break
        if trailer:
            lines = body[eol + 2 :].decode().split("\r\n")
            fields = [l for l in lines if l and not l.lower().startswith("x-amz-trailer-signature")]
            sig = [l.split(":", 1)[1].strip() for l in lines if l.lower().startswith("x-amz-trailer-signature")]
            canonical = "".join(f"{l.split(':', 1)[0].strip().lower()}:{l.split(':', 1)[1].strip()}\n" for l in fields)
            sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous, hashlib.sha256(canonical.encode()).hexdigest()])
            if not sig or sig[0] != hmac.new(key, sts.encode(), hashlib.sha256).hexdigest():
                return "trailer signature mismatch"
        return None


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class NodeServer(ThreadedWSGIServer):
    """A werkzeug server that remembers its open connections, so that stopping it cuts them too."""

    daemon_threads = True

    def __init__(self, host, port, app, ssl_context=None):
        super().__init__(host, port, app, handler=QuietHandler, ssl_context=ssl_context)
        self._open = set()
        self._lock = threading.Lock()

    def process_request(self, request, client_address):
        with self._lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def kill(self):
        self.shutdown()
        self.server_close()
        with self._lock:
            open_now = list(self._open)
            self._open.clear()
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                conn.close()
            except OSError:
                pass


class Node:
    def __init__(self, index, host, port, app, ssl_context=None):
        self.index, self.host, self.port = index, host, port
        self.ssl_context = ssl_context
        self.faults = FaultInjection(app)
        self.app = self.faults
        self.server = None
        self.lock = threading.Lock()

    def start(self):
        with self.lock:
            if self.server:
                return
            server = NodeServer(self.host, self.port, self.app, self.ssl_context)
            self.port = server.server_address[1]
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
            self.server = server

    def stop(self):
        with self.lock:
            if not self.server:
                return
            self.server.kill()
            self.server = None

    @property
    def up(self):
        return self.server is not None

    @property
    def connections(self):
        server = self.server
        if not server:
            return 0
        with server._lock:
            return len(server._open)


def bootstrap_auth(port, tls=False):
    """Creates an IAM user allowed everything in S3, then turns on moto's request authentication."""
    import boto3

    scheme = "https" if tls else "http"
    iam = boto3.client(
        "iam",
        endpoint_url=f"{scheme}://127.0.0.1:{port}",
        verify=False,
        region_name=REGION,
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    iam.create_user(UserName=USER)
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName=USER, PolicyName="s3-everything", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    # A second identity that may list buckets but not read objects: storage refuses its GETs, so a
    # gateway that shared one reader's bytes with it would be caught.
    iam.create_user(UserName="outsider")
    listing = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListAllMyBuckets"], "Resource": "*"}]}
    iam.put_user_policy(UserName="outsider", PolicyName="list-only", PolicyDocument=json.dumps(listing))
    outsider = iam.create_access_key(UserName="outsider")["AccessKey"]
    request = urllib.request.Request(
        f"{scheme}://127.0.0.1:{port}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    import ssl

    urllib.request.urlopen(request, context=ssl._create_unverified_context() if tls else None).read()
    return key["AccessKeyId"], key["SecretAccessKey"], outsider["AccessKeyId"], outsider["SecretAccessKey"]


def control_server(nodes, info, host, port):
    class Control(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/state":
                self.reply(200, state(nodes, info))
            else:
                self.reply(404, {"error": "unknown path"})

        def read_fault(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                fault = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                return None
            return fault if fault.get("mode") in ("none", "delay", "slowdown", "stall", "reset", "error", "rate") else None

        def do_POST(self):
            parts = self.path.strip("/").split("/")
            if parts == ["fault"]:
                fault = self.read_fault()
                if fault is None:
                    return self.reply(400, {"error": "the body must be a JSON fault with a known mode"})
                with CLUSTER_FAULT.lock:
                    CLUSTER_FAULT.fault = fault
                return self.reply(200, state(nodes, info))
            if parts == ["nodes", "stop"]:
                for node in nodes:
                    node.stop()
                return self.reply(200, state(nodes, info))
            if len(parts) == 3 and parts[0] == "nodes" and parts[1].isdigit() and parts[2] in ("stop", "start", "fault"):
                index = int(parts[1])
                if index >= len(nodes):
                    return self.reply(404, {"error": f"no node {index}"})
                if parts[2] == "fault":
                    fault = self.read_fault()
                    if fault is None:
                        return self.reply(400, {"error": "the body must be a JSON fault with a known mode"})
                    with nodes[index].faults.slot.lock:
                        nodes[index].faults.slot.fault = fault
                else:
                    getattr(nodes[index], parts[2])()
                return self.reply(200, state(nodes, info))
            self.reply(404, {"error": "unknown path"})

    server = ThreadingHTTPServer((host, port), Control)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def state(nodes, info):
    return dict(info, nodes=[{"index": n.index, "port": n.port, "up": n.up, "connections": n.connections, "fault": n.faults.fault,
                              "requests": n.faults.requests, "gets": n.faults.gets, "get_bytes": n.faults.get_bytes} for n in nodes], cluster_fault=CLUSTER_FAULT.fault)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ports", default="0,0,0", help="comma-separated node ports; 0 picks a free one")
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--no-auth", action="store_true", help="leave moto's request authentication off")
    parser.add_argument("--exit-with-stdin", action="store_true", help="exit when stdin reaches end of file")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate chain (and --tls-key)")
    parser.add_argument("--tls-key")
    parser.add_argument("--legacy", action="store_true", help="refuse aws-chunked uploads, as storage before trailing checksums does")
    args = parser.parse_args()
    ssl_context = None
    if args.tls_cert:
        import ssl

        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(args.tls_cert, args.tls_key)

    keys = {}
    bodies = UploadBodyCheck(DomainDispatcherApplication(create_backend_app), keys, args.legacy)
    app = PresignedURLCheck(bodies, keys)
    nodes = [Node(i, args.host, int(p), app, ssl_context) for i, p in enumerate(args.ports.split(","))]
    for node in nodes:
        node.start()

    info = {"region": REGION, "host": args.host, "tls": ssl_context is not None, "uploads": bodies.counts}
    if args.no_auth:
        info.update(access_key="testing", secret_key="testing", auth=False)
    else:
        access, secret, outsider, outsider_secret = bootstrap_auth(nodes[0].port, tls=ssl_context is not None)
        keys[access] = secret
        keys[outsider] = outsider_secret
        info.update(access_key=access, secret_key=secret, auth=True, outsider_access_key=outsider, outsider_secret_key=outsider_secret)

    control = control_server(nodes, info, args.host, args.control_port)
    info["control_port"] = control.server_address[1]
    print(json.dumps(state(nodes, info)), flush=True)

    if args.exit_with_stdin:
        sys.stdin.read()
        os._exit(0)
    threading.Event().wait()


if __name__ == "__main__":
    main()
