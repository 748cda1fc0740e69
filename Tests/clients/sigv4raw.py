#!/usr/bin/env python3
"""SigV4 over raw bytes, written apart from Spillway's signer, for the hostile-input tests.

Signs a request exactly as AWS specifies, from the bytes that go on the wire (a path may hold bytes
that are not UTF-8), and prints the complete request as base64 in one JSON line:

    sigv4raw.py --key AK --secret S --method GET --path '/b/\\xff' --query 'x=%FF' --host h
    sigv4raw.py ... --canonical-path '/b/%EF%BF%BD'      sign a different path than the one sent
    sigv4raw.py ... --method PUT --streaming 1000,500    an aws-chunked upload with chunk signatures
    sigv4raw.py ... --streaming 1000,500 --cut-final     Content-Length stops before the final chunk
    sigv4raw.py ... --signed-extra 20000                 that many more names ('a') in SignedHeaders
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
HEX = set(b"0123456789abcdefABCDEF")


def unescape(text):
    """'\\xff' escapes in an argument stand for raw bytes."""
    return text.encode("latin-1").decode("unicode_escape").encode("latin-1")


def encode(data, keep_slash):
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if keep_slash and c == 0x25 and i + 2 < len(data) and data[i + 1] in HEX and data[i + 2] in HEX:
            out += b"%" + bytes(data[i + 1:i + 3]).upper()
            i += 3
            continue
        if c in UNRESERVED or (keep_slash and c == 0x2F):
            out.append(c)
        else:
            out += b"%%%02X" % c
        i += 1
    return bytes(out)


def decode(data):
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == 0x25 and i + 2 < len(data) and data[i + 1] in HEX and data[i + 2] in HEX:
            out.append(int(data[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def canonical_query(query):
    pairs = []
    for part in query.split(b"&"):
        if not part:
            continue
        name, _, value = part.partition(b"=")
        pairs.append((encode(decode(name), False), encode(decode(value), False)))
    pairs.sort()
    return b"&".join(n + b"=" + v for n, v in pairs)


def sign(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--key", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--method", default="GET")
    p.add_argument("--path", required=True)
    p.add_argument("--canonical-path")
    p.add_argument("--query", default="")
    p.add_argument("--host", default="gateway")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--streaming")
    p.add_argument("--cut-final", action="store_true")
    p.add_argument("--signed-extra", type=int, default=0)
    a = p.parse_args()

    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = now.strftime("%Y%m%d")
    scope = f"{day}/{a.region}/s3/aws4_request"
    k = sign(sign(sign(sign(("AWS4" + a.secret).encode(), day.encode()), a.region.encode()), b"s3"), b"aws4_request")

    path = unescape(a.path)
    query = unescape(a.query)
    headers = [("host", a.host), ("x-amz-date", amz_date)]
    chunks = []
    body = b""
    if a.streaming:
        sizes = [int(s) for s in a.streaming.split(",")]
        chunks = [os.urandom(n) for n in sizes] + [b""]
        overhead = sum(len(b"%x;chunk-signature=" % len(c)) + 64 + 4 for c in chunks) + sum(len(c) for c in chunks)
        headers += [("content-encoding", "aws-chunked"), ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
                    ("x-amz-decoded-content-length", str(sum(sizes)))]
        final_len = len(b"0;chunk-signature=") + 64 + 4
        length = overhead - final_len if a.cut_final else overhead
        headers.append(("content-length", str(length)))
    else:
        headers.append(("x-amz-content-sha256", hashlib.sha256(b"").hexdigest()))
    if a.signed_extra:
        headers.append(("a", "1"))  # present, so every one of the repeated names finds a value
    headers.sort()
    names = [n for n, _ in headers]
    # The attack as found: one short name repeated, 20,000 times in a 60 KB head.
    signed_names = sorted(names + ["a"] * (a.signed_extra - 1 if a.signed_extra else 0))
    canonical = b"\n".join([
        a.method.encode(),
        encode(unescape(a.canonical_path) if a.canonical_path else path, True) or b"/",
        canonical_query(query),
        b"".join(f"{n}:{v}\n".encode() for n, v in headers),
        ";".join(names).encode(),
        dict(headers)["x-amz-content-sha256"].encode(),
    ])
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical).hexdigest()}".encode()
    signature = hmac.new(k, to_sign, hashlib.sha256).hexdigest()
    auth = f"AWS4-HMAC-SHA256 Credential={a.key}/{scope}, SignedHeaders={';'.join(signed_names)}, Signature={signature}"

    if a.streaming:
        previous = signature
        for c in chunks:
            string = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, hashlib.sha256(b"").hexdigest(),
                                hashlib.sha256(c).hexdigest()])
            previous = hmac.new(k, string.encode(), hashlib.sha256).hexdigest()
            body += b"%x;chunk-signature=%s\r\n" % (len(c), previous.encode()) + c + b"\r\n"
        body = body[:int(dict(headers)["content-length"])]

    target = path + (b"?" + query if query else b"")
    head = a.method.encode() + b" " + target + b" HTTP/1.1\r\n"
    head += b"".join(f"{n}: {v}\r\n".encode() for n, v in headers)
    head += f"Authorization: {auth}\r\n\r\n".encode()
    print(json.dumps({"request": base64.b64encode(head + body).decode(), "head_length": len(head)}))


if __name__ == "__main__":
    main()
