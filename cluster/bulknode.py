#!/usr/bin/env python3
"""A storage node stand-in for volume tests: it serves any number of bytes and swallows any upload,
without keeping either, so multi-GiB transfers cost neither disk nor memory on the node's side.

    GET /<anything>/<size>   -> 200, <size> bytes (zeros), Content-Length framed, an ETag; with
                                `Range: bytes=a-b` (and a matching If-Match), 206 with those bytes
    PUT /<anything>          -> reads the whole body (Content-Length or chunked), 200 {"received": n}

Prints {"port": N} on stdout once listening; exits when stdin closes.
"""
import json
import socket
import sys
import threading

BLOCK = b"\0" * (1 << 20)


def read_head(conn, buf):
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, None, b""
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return (method, target), headers, rest


def read_body(conn, headers, rest):
    received = 0
    if "content-length" in headers:
        remaining = int(headers["content-length"]) - len(rest)
        received = len(rest)
        while remaining > 0:
            chunk = conn.recv(min(remaining, 1 << 20))
            if not chunk:
                raise ConnectionError("body cut short")
            received += len(chunk)
            remaining -= len(chunk)
        return received, b""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        buf = rest
        while True:
            while b"\r\n" not in buf:
                buf += conn.recv(65536)
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while b"\r\n\r\n" not in b"\r\n" + buf:
                    buf += conn.recv(65536)
                _, _, buf = (b"\r\n" + buf).partition(b"\r\n\r\n")
                return received, buf
            while len(buf) < size + 2:
                buf += conn.recv(max(65536, size + 2 - len(buf)))
            received += size
            buf = buf[size + 2 :]
    return 0, rest


def serve(conn):
    buf = b""
    try:
        while True:
            request, headers, buf = read_head(conn, buf)
            if request is None:
                return
            method, target = request
            if method == "GET":
                size = int(target.rstrip("/").rsplit("/", 1)[-1].split("?")[0])
                etag = f'"bulk-{size}"'
                ranged = headers.get("range", "")
                if ranged.startswith("bytes=") and headers.get("if-match", etag) == etag:
                    first, _, last = ranged[6:].partition("-")
                    first, last = int(first), int(last or size - 1)
                    conn.sendall(f"HTTP/1.1 206 Partial Content\r\nContent-Length: {last - first + 1}\r\nContent-Range: bytes {first}-{last}/{size}\r\nETag: {etag}\r\n\r\n".encode())
                    left = last - first + 1
                else:
                    conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nETag: {etag}\r\nContent-Type: application/octet-stream\r\n\r\n".encode())
                    left = size
                while left > 0:
                    n = min(left, len(BLOCK))
                    conn.sendall(BLOCK[:n])
                    left -= n
            else:
                received, buf = read_body(conn, headers, buf)
                reply = {"received": received}
                if "authorization" in headers:
                    reply["authorization"] = headers["authorization"]  # so a test sees whose signature arrived
                body = json.dumps(reply).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    except (ConnectionError, OSError, ValueError):
        pass
    finally:
        conn.close()


def main():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    server.listen(128)
    print(json.dumps({"port": server.getsockname()[1]}), flush=True)

    def accept():
        while True:
            conn, _ = server.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()


if __name__ == "__main__":
    main()
