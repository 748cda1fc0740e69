#!/usr/bin/env python3
"""A Redis stand-in that answers every command with the bytes given on the command line (with
\\r\\n escapes), for the fleet limiter's hostile-input tests. Prints {"port": N}; exits with stdin."""
import json
import socket
import sys
import threading

reply = sys.argv[1].encode().decode("unicode_escape").encode("latin-1")


def serve(conn):
    try:
        while conn.recv(65536):
            conn.sendall(reply)
    except OSError:
        pass
    finally:
        conn.close()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(16)
print(json.dumps({"port": server.getsockname()[1]}), flush=True)


def accept():
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()
sys.stdin.read()
