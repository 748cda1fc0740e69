#!/usr/bin/env python3
"""A deliberately lenient HTTP/1.1 storage node for Spillway's hostile-input tests.

It parses requests the way permissive servers do (Go's net/http and many embedded servers), so
that anything a gateway lets through that a lenient server would read as a second request shows
up here as a second request:

- lines may end in LF alone; header names and values are trimmed;
- a line starting with SP or HTAB continues the previous header (obsolete line folding);
- framing: Transfer-Encoding ending in "chunked" wins, else the first Content-Length, else none;
  header names are compared case-insensitively and with "_" read as "-" (as CGI-style servers do);
- chunk sizes are read up to ";" or the line end, trimmed; trailers end at the first empty line.

Every request it reads is recorded, with the exact bytes it was framed from, and answered with
the next scripted response (or a small 200). Responses can be scripted per request kind so a test
can make a node misbehave on the response side:

    GET  /requests   -> [{"method", "target", "version", "headers": [[name, value]], "body": b64,
                          "raw": b64, "complete": bool, "connection": n}, ...]
    POST /reset      -> forget the requests and scripts
    POST /script     body: {"responses": [{"raw": b64, "when": "any"|"range"|"norange",
                                           "close": bool, "then_raw": b64, "delay_ms": n}]}
                     each response is used once, first match wins; "then_raw" is sent
                     "delay_ms" after the response, on the same connection.
                     With --tls-cert/--tls-key the node speaks TLS; a scripted "close" then
                     ends with close_notify, or, with "tls_close": "abrupt", without it (the
                     TCP connection just ends, as a truncation attack would look).

Prints {"port": N, "control_port": M} once listening; exits when stdin closes.
"""
import argparse
import base64
import json
import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
requests = []
scripts = []
connection_ids = [0]


def b64(data):
    return base64.b64encode(data).decode()


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.taken = b""

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError
        self.buf += chunk

    def line(self):
        while b"\n" not in self.buf:
            self.fill()
        line, _, self.buf = self.buf.partition(b"\n")
        self.taken += line + b"\n"
        return line[:-1] if line.endswith(b"\r") else line

    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        self.taken += data
        return data


def norm(name):
    return name.strip().lower().replace("_", "-")


def read_request(c, record):
    line = c.line()
    while line == b"":  # tolerate stray empty lines between requests
        c.taken = b""
        line = c.line()
    parts = line.decode("latin-1").split(" ")
    record["method"] = parts[0]
    record["target"] = parts[1] if len(parts) > 1 else ""
    record["version"] = parts[2] if len(parts) > 2 else ""
    headers = record["headers"]
    while True:
        line = c.line()
        if line == b"":
            break
        text = line.decode("latin-1")
        if text[:1] in (" ", "\t") and headers:
            headers[-1][1] += " " + text.strip()
            continue
        name, _, value = text.partition(":")
        headers.append([name.strip(), value.strip()])
    te = [v for n, v in headers if norm(n) == "transfer-encoding"]
    cl = [v for n, v in headers if norm(n) == "content-length"]
    body = b""
    if te and te[-1].lower().replace(" ", "").endswith("chunked"):
        while True:
            size_text = c.line().split(b";")[0].strip()
            size = int(size_text or b"0", 16)
            if size == 0:
                while c.line() != b"":
                    pass
                break
            body += c.exactly(size)
            c.line()
    elif cl:
        body = c.exactly(int(cl[0].split(",")[0].strip() or "0"))
    record["body"] = b64(body)
    record["complete"] = True
    return record


def pick_script(record):
    ranged = any(norm(n) == "range" for n, _ in record["headers"])
    with lock:
        for i, s in enumerate(scripts):
            when = s.get("when", "any")
            if when == "any" or (when == "range") == ranged:
                return scripts.pop(i)
    return None


def serve(sock):
    with lock:
        connection_ids[0] += 1
        cid = connection_ids[0]
    c = Conn(sock)
    try:
        while True:
            c.taken = b""
            record = {"method": "", "target": "", "version": "", "headers": [], "body": "", "complete": False,
                      "connection": cid}
            try:
                read_request(c, record)
            except (EOFError, ValueError, IndexError, ConnectionError, OSError) as e:
                if c.taken:
                    record["raw"] = b64(c.taken)
                    record["error"] = type(e).__name__
                    with lock:
                        requests.append(record)
                return
            record["raw"] = b64(c.taken)
            with lock:
                requests.append(record)
            script = pick_script(record)
            if script is None:
                body = ("seen %s %s\n" % (record["method"], record["target"])).encode("latin-1")
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                if any(norm(n) == "connection" and v.lower() == "close" for n, v in record["headers"]):
                    return
                continue
            sock.sendall(base64.b64decode(script["raw"]))
            if script.get("then_raw"):
                time.sleep(script.get("delay_ms", 0) / 1000)
                sock.sendall(base64.b64decode(script["then_raw"]))
            if script.get("close"):
                if isinstance(sock, ssl.SSLSocket):
                    if script.get("tls_close") == "abrupt":
                        os.close(sock.detach())  # a FIN with no close_notify before it
                    else:
                        sock = sock.unwrap()  # close_notify, then the FIN
                return
    except OSError:
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def accept_loop(listener, tls):
    while True:
        sock, _ = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve_tls if tls else serve, args=(sock, tls) if tls else (sock,), daemon=True).start()


def serve_tls(sock, tls):
    try:
        sock = tls.wrap_socket(sock, server_side=True)
    except (ssl.SSLError, OSError):
        sock.close()
        return
    serve(sock)


class Control(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, obj):
        data = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.reply(list(requests))

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        if self.path == "/reset":
            with lock:
                requests.clear()
                scripts.clear()
            self.reply({"ok": True})
        elif self.path == "/script":
            with lock:
                scripts.extend(json.loads(body)["responses"])
            self.reply({"ok": True})
        else:
            self.send_error(404)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    threading.Thread(target=accept_loop, args=(listener, tls), daemon=True).start()
    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print(json.dumps({"port": listener.getsockname()[1], "control_port": control.server_address[1]}), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
