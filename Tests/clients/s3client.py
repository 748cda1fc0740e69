#!/usr/bin/env python3
"""Real S3 clients (boto3, plus a hand-signed aws-chunked uploader) driven by Spillway's Swift tests.

Each scenario talks to --endpoint (the gateway under test), prints one JSON object with what it saw,
and leaves the judging to the Swift test. Credentials come from the test cluster's JSON
(--cluster-json). Client-side retries are off unless a scenario says otherwise, so a failure the
gateway lets through is seen, not papered over.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import io
import json
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from urllib.parse import quote, urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

MiB = 1024 * 1024


def client(args, retries=1, **overrides):
    cfg = Config(
        signature_version="s3v4",
        # total_max_attempts counts the first attempt: 1 means no retries (botocore's own
        # max_attempts would mean retries, and leave one on).
        retries={"total_max_attempts": retries, "mode": "standard"},
        s3={"addressing_style": overrides.pop("addressing_style", "path"), "payload_signing_enabled": False if args.unsigned_payload else None},
        connect_timeout=5,
        read_timeout=60,
        client_cert=(args.client_cert, args.client_key) if args.client_cert else None,
        request_checksum_calculation=args.checksums,
    )
    return boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        verify=args.ca_bundle or None,
        region_name=args.cluster["region"],
        aws_access_key_id=overrides.pop("access_key", args.cluster["access_key"]),
        aws_secret_access_key=overrides.pop("secret_key", args.cluster["secret_key"]),
        config=cfg,
    )


def md5(data):
    return hashlib.md5(data).hexdigest()


def error_code(exc):
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "?")
    return type(exc).__name__


def ensure_bucket(s3, bucket):
    try:
        s3.create_bucket(Bucket=bucket)
        return True
    except ClientError as e:
        if error_code(e) in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            return False
        raise


# --- scenarios ---------------------------------------------------------------------------------


def roundtrip(args):
    s3 = client(args)
    created = ensure_bucket(s3, args.bucket)
    out = {"created": created, "objects": []}
    for size in [int(x) for x in args.sizes.split(",")]:
        key = f"roundtrip/{size}.bin"
        data = os.urandom(size)
        s3.put_object(Bucket=args.bucket, Key=key, Body=data)
        head = s3.head_object(Bucket=args.bucket, Key=key)
        got = s3.get_object(Bucket=args.bucket, Key=key)["Body"].read()
        s3.delete_object(Bucket=args.bucket, Key=key)
        try:
            s3.head_object(Bucket=args.bucket, Key=key)
            after_delete = "still there"
        except ClientError as e:
            after_delete = e.response["Error"]["Code"]
        out["objects"].append(
            {
                "size": size,
                "sent_md5": md5(data),
                "got_md5": md5(got),
                "got_size": len(got),
                "head_length": head["ContentLength"],
                "head_etag": head["ETag"].strip('"'),
                "after_delete": after_delete,
            }
        )
    return out


def multipart(args):
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    key = "multipart/object.bin"
    parts_data = [os.urandom(args.part_size) for _ in range(args.parts)]
    upload = s3.create_multipart_upload(Bucket=args.bucket, Key=key)["UploadId"]
    etags = []
    for n, data in enumerate(parts_data, start=1):
        etags.append(s3.upload_part(Bucket=args.bucket, Key=key, UploadId=upload, PartNumber=n, Body=data)["ETag"])
    listed = s3.list_parts(Bucket=args.bucket, Key=key, UploadId=upload)["Parts"]
    s3.complete_multipart_upload(
        Bucket=args.bucket,
        Key=key,
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, start=1)]},
    )
    whole = b"".join(parts_data)
    got = s3.get_object(Bucket=args.bucket, Key=key)["Body"].read()

    aborted = s3.create_multipart_upload(Bucket=args.bucket, Key="multipart/aborted.bin")["UploadId"]
    s3.upload_part(Bucket=args.bucket, Key="multipart/aborted.bin", UploadId=aborted, PartNumber=1, Body=b"x" * 1024)
    s3.abort_multipart_upload(Bucket=args.bucket, Key="multipart/aborted.bin", UploadId=aborted)
    in_progress = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=args.bucket).get("Uploads", [])]
    return {
        "listed_parts": len(listed),
        "sent_md5": md5(whole),
        "got_md5": md5(got),
        "size": len(got),
        "aborted_still_listed": aborted in in_progress,
    }


def ranges(args):
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    data = os.urandom(args.size)
    s3.put_object(Bucket=args.bucket, Key="ranged.bin", Body=data)
    out = {}
    expected = {"bytes=0-99": data[0:100], "bytes=1000-": data[1000:], "bytes=-50": data[-50:], "bytes=5-5": data[5:6]}
    for spec, want in expected.items():
        r = s3.get_object(Bucket=args.bucket, Key="ranged.bin", Range=spec)
        got = r["Body"].read()
        out[spec] = {"status": r["ResponseMetadata"]["HTTPStatusCode"], "matches": got == want,
                     "content_range": r.get("ContentRange"), "length": len(got)}
    return out


SPECIAL_KEYS = [
    "plain.txt",
    "with space.txt",
    "plus+sign.txt",
    "percent%20literal.txt",
    "unicode-ü-日本.txt",
    "dir/sub dir/nested+key.txt",
    "question?and=equals&amp.txt",
    "tilde~star*paren(1).txt",
]


def list_encoded(args):
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    for key in SPECIAL_KEYS:
        s3.put_object(Bucket=args.bucket, Key=key, Body=key.encode())
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=args.bucket).get("Contents", []))
    delimited = s3.list_objects_v2(Bucket=args.bucket, Prefix="dir/", Delimiter="/")
    bodies_match = all(s3.get_object(Bucket=args.bucket, Key=k)["Body"].read() == k.encode() for k in SPECIAL_KEYS)
    v1 = sorted(o["Key"] for o in s3.list_objects(Bucket=args.bucket).get("Contents", []))
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    return {
        "sent": sorted(SPECIAL_KEYS),
        "listed": listed,
        "listed_v1": v1,
        "common_prefixes": [p["Prefix"] for p in delimited.get("CommonPrefixes", [])],
        "bodies_match": bodies_match,
        "buckets": buckets,
    }


def presign(args):
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    key = "presigned/a+b ü.txt"
    s3.put_object(Bucket=args.bucket, Key=key, Body=b"shared by URL")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": args.bucket, "Key": key}, ExpiresIn=300)

    def fetch(u):
        try:
            with urllib.request.urlopen(u) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    status, body = fetch(url)
    tampered_status, tampered_body = fetch(url.replace("X-Amz-Signature=", "X-Amz-Signature=00"))
    return {"url_host": urlparse(url).netloc, "status": status, "body": body,
            "tampered_status": tampered_status, "tampered_body": tampered_body}


def chunked_trailer(args):
    """boto3's own aws-chunked upload with a trailing CRC32 (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
    botocore sends this by default over https; over plain http it picks a header checksum, so the
    scenario asks it for the trailer form it uses in production."""
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    seen = {}

    def want_trailer(params, **_):
        algorithm = params["context"].get("checksum", {}).get("request_algorithm")
        if isinstance(algorithm, dict):
            algorithm["in"] = "trailer"

    def record(request, **_):
        seen.update({k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()})

    s3.meta.events.register("before-call.s3.PutObject", want_trailer)
    s3.meta.events.register("before-send.s3.PutObject", record)
    data = os.urandom(args.size)
    s3.put_object(Bucket=args.bucket, Key="chunked/trailer.bin", Body=io.BytesIO(data), ChecksumAlgorithm="CRC32")
    r = s3.get_object(Bucket=args.bucket, Key="chunked/trailer.bin", ChecksumMode="ENABLED")
    got = r["Body"].read()
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    return {
        "content_sha256_header": seen.get("x-amz-content-sha256"),
        "content_encoding": seen.get("content-encoding"),
        "transfer_encoding": seen.get("transfer-encoding"),
        "sent_md5": md5(data), "got_md5": md5(got),
        "sent_crc32": crc, "stored_crc32": r.get("ChecksumCRC32"),
    }


def _sign_key(secret, date, region):
    key = ("AWS4" + secret).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _connection(args, timeout=60):
    url = urlparse(args.endpoint)
    if url.scheme == "https":
        import ssl

        context = ssl.create_default_context(cafile=args.ca_bundle) if args.ca_bundle else ssl.create_default_context()
        return http.client.HTTPSConnection(url.hostname, url.port, timeout=timeout, context=context)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)


def _crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _aws_chunked_upload(args, key, signed_chunks, trailer, bad_checksum=False):
    """An aws-chunked PUT signed by hand: chunks of --chunk-size, each signed
    (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) or not (STREAMING-UNSIGNED-PAYLOAD-TRAILER),
    with a trailing CRC32 when `trailer`. Returns (status, response text, the data sent)."""
    url = urlparse(args.endpoint)
    region, access, secret = args.cluster["region"], args.cluster["access_key"], args.cluster["secret_key"]
    data = os.urandom(args.size)
    chunks = [data[i : i + args.chunk_size] for i in range(0, len(data), args.chunk_size)] + [b""]
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{date}/{region}/s3/aws4_request"
    signing_key = _sign_key(secret, date, region)
    checksum = _crc32_b64(data if not bad_checksum else data + b"x")
    empty = hashlib.sha256(b"").hexdigest()
    payload = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")) if signed_chunks else "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

    def frame(seed):
        body, previous = bytearray(), seed
        for chunk in chunks:
            if signed_chunks:
                sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, empty, hashlib.sha256(chunk).hexdigest()])
                previous = hmac.new(signing_key, sts.encode(), hashlib.sha256).hexdigest()
                body += f"{len(chunk):x};chunk-signature={previous}\r\n".encode()
            else:
                body += f"{len(chunk):x}\r\n".encode()
            if chunk or not trailer:
                body += chunk + b"\r\n"
        if trailer:
            line = f"x-amz-checksum-crc32:{checksum}"
            body += line.encode() + b"\r\n"
            if signed_chunks:
                sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous, hashlib.sha256((line + "\n").encode()).hexdigest()])
                body += f"x-amz-trailer-signature:{hmac.new(signing_key, sts.encode(), hashlib.sha256).hexdigest()}\r\n".encode()
            body += b"\r\n"
        return bytes(body)

    path = "/" + args.bucket + "/" + quote(key, safe="/~")
    headers = {
        "host": url.netloc,
        "content-encoding": "aws-chunked",
        "content-length": str(len(frame("0" * 64))),
    }
    if args.transfer_chunked:
        del headers["content-length"]  # the length goes unsaid: HTTP chunks carry the body
    headers.update({
        "x-amz-content-sha256": payload,
        "x-amz-date": amz_date,
        "x-amz-decoded-content-length": str(len(data)),
    })
    if trailer:
        headers["x-amz-trailer"] = "x-amz-checksum-crc32"
    signed = ";".join(sorted(headers))
    canonical = "\n".join(["PUT", path, "", "".join(f"{h}:{headers[h]}\n" for h in sorted(headers)), signed, payload])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    seed = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={seed}"
    body = frame(seed)
    if args.transfer_chunked:
        # HTTP chunks of a size unrelated to the aws-chunked ones, so their boundaries cross.
        step = 50_000
        body = b"".join(f"{len(body[i:i + step]):x}\r\n".encode() + body[i : i + step] + b"\r\n" for i in range(0, len(body), step)) + b"0\r\n\r\n"
        headers["transfer-encoding"] = "chunked"
    else:
        assert len(body) == int(headers["content-length"])
    conn = _connection(args)
    conn.putrequest("PUT", path, skip_host=True, skip_accept_encoding=True)
    for h, v in headers.items():
        conn.putheader(h, v)
    conn.endheaders()
    try:
        conn.send(body)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace"), data
    except (ConnectionError, http.client.HTTPException) as e:
        return 0, f"connection: {e}", data


def chunked_signed(args):
    """An aws-chunked upload with a signature on every chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
    or its -TRAILER form with --trailer), as the Java, Go and .NET SDKs send. botocore cannot
    produce it, so it is signed here by hand."""
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    key = "chunked/signed chunks.bin"
    status, text, data = _aws_chunked_upload(args, key, signed_chunks=True, trailer=args.trailer)
    got = b""
    if status == 200:
        got = s3.get_object(Bucket=args.bucket, Key=key)["Body"].read()
    return {"status": status, "response": text[:500], "sent_md5": md5(data), "got_md5": md5(got), "got_size": len(got)}


def unsigned_trailer(args):
    """An aws-chunked upload with unsigned chunks and a trailing CRC32
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER) made by hand, so that --bad-checksum can send a wrong one;
    afterwards, whether the object exists."""
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    status, text, data = _aws_chunked_upload(args, args.key, signed_chunks=False, trailer=True, bad_checksum=args.bad_checksum)
    try:
        got = s3.get_object(Bucket=args.bucket, Key=args.key)["Body"].read()
        stored = {"exists": True, "got_md5": md5(got), "got_size": len(got)}
    except ClientError as e:
        stored = {"exists": False, "get_error": error_code(e)}
    return dict({"status": status, "response": text[:500], "sent_md5": md5(data)}, **stored)


def get(args):
    """One GET of --key (with --if-none-match, conditional on it); its status and body's MD5, or
    its S3 error (nothing is created)."""
    s3 = client(args)
    extra = {"IfNoneMatch": args.if_none_match} if args.if_none_match else {}
    try:
        body = s3.get_object(Bucket=args.bucket, Key=args.key, **extra)["Body"].read()
        return {"status": 200, "md5": md5(body), "size": len(body)}
    except ClientError as e:
        meta = e.response.get("ResponseMetadata", {})
        return {"status": meta.get("HTTPStatusCode"), "error": error_code(e), "request_id": meta.get("RequestId")}


def listing(args):
    """ListObjectsV2 of --bucket under --prefix: the keys, or the S3 error."""
    s3 = client(args)
    try:
        r = s3.list_objects_v2(Bucket=args.bucket, Prefix=args.prefix)
        return {"status": 200, "keys": [o["Key"] for o in r.get("Contents", [])]}
    except ClientError as e:
        return {"status": e.response.get("ResponseMetadata", {}).get("HTTPStatusCode"), "error": error_code(e)}


def copy_from(args):
    """CopyObject of --source-bucket/--key into --bucket/copy-of-<key>."""
    s3 = client(args)
    try:
        s3.copy_object(Bucket=args.bucket, Key="copy-of-" + args.key, CopySource={"Bucket": args.source_bucket, "Key": args.key})
        return {"status": 200}
    except ClientError as e:
        meta = e.response.get("ResponseMetadata", {})
        return {"status": meta.get("HTTPStatusCode"), "error": error_code(e), "message": e.response.get("Error", {}).get("Message")}


def copy_delete(args):
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    data = os.urandom(300 * 1024)
    s3.put_object(Bucket=args.bucket, Key="copy/source.bin", Body=data)
    s3.copy_object(Bucket=args.bucket, Key="copy/target.bin", CopySource={"Bucket": args.bucket, "Key": "copy/source.bin"})
    copied = s3.get_object(Bucket=args.bucket, Key="copy/target.bin")["Body"].read()
    for i in range(5):
        s3.put_object(Bucket=args.bucket, Key=f"batch/{i}.txt", Body=b"x")
    deleted = s3.delete_objects(
        Bucket=args.bucket, Delete={"Objects": [{"Key": f"batch/{i}.txt"} for i in range(5)]}
    ).get("Deleted", [])
    left = s3.list_objects_v2(Bucket=args.bucket, Prefix="batch/").get("KeyCount", -1)
    head_bucket = s3.head_bucket(Bucket=args.bucket)["ResponseMetadata"]["HTTPStatusCode"]
    return {"copy_matches": copied == data, "deleted": len(deleted), "left": left, "head_bucket": head_bucket}


def virtual_host(args):
    """Virtual-hosted-style requests (Host: <bucket>.s3.spillway.test). Names under .spillway.test
    resolve to 127.0.0.1 inside this client only; the gateway sees the real Host header."""
    import socket

    resolve = socket.getaddrinfo

    def loopback_for_test_domain(host, *rest, **kw):
        if isinstance(host, str) and host.endswith(".spillway.test"):
            host = "127.0.0.1"
        return resolve(host, *rest, **kw)

    socket.getaddrinfo = loopback_for_test_domain
    args.endpoint = args.endpoint.replace("127.0.0.1", "s3.spillway.test")
    s3 = client(args, addressing_style="virtual")
    seen_hosts = []
    s3.meta.events.register("before-send.s3.*", lambda request, **_: seen_hosts.append(urlparse(request.url).netloc))
    ensure_bucket(s3, args.bucket)
    s3.put_object(Bucket=args.bucket, Key="vhost/key+1.txt", Body=b"virtual")
    got = s3.get_object(Bucket=args.bucket, Key="vhost/key+1.txt")["Body"].read()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=args.bucket, Prefix="vhost/").get("Contents", [])]
    return {"body": got.decode(), "keys": keys, "hosts": sorted(set(seen_hosts))}


def bad_secret(args):
    s3 = client(args, secret_key="not-the-secret")
    try:
        s3.list_objects_v2(Bucket=args.bucket)
        return {"error": None}
    except ClientError as e:
        return {"error": error_code(e), "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}


def replica_payload(size):
    """The same bytes wherever they are written: a replica seeded in two clusters holds one object."""
    return (b"spillway replica " * (size // 17 + 1))[:size]


def seed(args):
    """Creates --bucket and writes the replica object load/seed (--object-size bytes) into it."""
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    s3.put_object(Bucket=args.bucket, Key="load/seed", Body=replica_payload(args.object_size))
    return {"md5": md5(replica_payload(args.object_size))}


def load(args):
    """A steady GET/PUT workload from several threads; optionally stops a node part-way through
    (--stop-url, after --stop-after seconds). Every request is recorded with its start and end.
    --reads-only: GETs only, of the replica object that `seed` wrote."""
    s3_clients = [client(args) for _ in range(args.threads)]
    if args.reads_only:
        payload = replica_payload(args.object_size)
    else:
        ensure_bucket(s3_clients[0], args.bucket)
        payload = os.urandom(args.object_size)
        s3_clients[0].put_object(Bucket=args.bucket, Key="load/seed", Body=payload)
    expected = md5(payload)
    records, lock = [], threading.Lock()
    t0 = time.monotonic()
    stop_at = {"t": None}
    deadline = t0 + args.duration

    def worker(n):
        s3 = s3_clients[n]
        i = 0
        while time.monotonic() < deadline and i < args.max_requests:
            i += 1
            if args.fresh_every and i % args.fresh_every == 0:
                s3 = client(args)  # a new client: new connections, new TLS handshakes
            op = "GET" if i % 2 or args.reads_only else "PUT"
            start = time.monotonic() - t0
            error = None
            try:
                if op == "GET":
                    body = s3.get_object(Bucket=args.bucket, Key="load/seed")["Body"].read()
                    if md5(body) != expected:
                        error = "corrupt body"
                else:
                    s3.put_object(Bucket=args.bucket, Key=f"load/{n}/{i}", Body=payload)
            except Exception as e:  # noqa: BLE001 - every failure is data here
                error = error_code(e)
            with lock:
                records.append({"op": op, "start": start, "end": time.monotonic() - t0, "error": error})

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
    for t in threads:
        t.start()
    if args.stop_url:
        time.sleep(args.stop_after)
        stop_at["t"] = time.monotonic() - t0
        urllib.request.urlopen(urllib.request.Request(args.stop_url, method="POST")).read()
        stop_at["done"] = time.monotonic() - t0
    for t in threads:
        t.join()
    return {"stopped_at": stop_at.get("t"), "stop_done": stop_at.get("done"), "records": records}


def tls_peer(args):
    """One new TLS connection to the endpoint: the certificate it presents (SHA-256 of its DER,
    as openssl prints it), or why the handshake failed. With --client-cert, presents that."""
    import socket
    import ssl

    url = urlparse(args.endpoint)
    ctx = ssl.create_default_context(cafile=args.ca_bundle)
    if args.client_cert:
        ctx.load_cert_chain(args.client_cert, args.client_key)
    try:
        with socket.create_connection((url.hostname, url.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=url.hostname) as tls:
                der = tls.getpeercert(binary_form=True)
                # TLS 1.3 reports a refused client certificate after the handshake: ask something.
                tls.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = tls.recv(64)
                digest = hashlib.sha256(der).hexdigest().upper()
                return {"ok": bool(answer), "fingerprint": ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
                        "version": tls.version(), "alpn": tls.selected_alpn_protocol()}
    except (ssl.SSLError, OSError) as e:
        return {"ok": False, "error": type(e).__name__ + ": " + str(e)}


def put_random(args):
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    data = os.urandom(args.size)
    s3.put_object(Bucket=args.bucket, Key=args.key, Body=data)
    return {"md5": md5(data), "size": len(data)}


def slow_get(args):
    """Downloads --key at about --rate bytes/s, as a slow consumer would, and reports whether the
    body arrived whole. A cut-short body must surface as an error, never as a short success."""
    s3 = client(args)
    started = time.monotonic()
    try:
        r = s3.get_object(Bucket=args.bucket, Key=args.key)
    except Exception as e:  # noqa: BLE001
        return {"complete": False, "error": error_code(e), "bytes": 0}
    print(json.dumps({"event": "receiving"}), flush=True)  # the test acts once the body is flowing
    body, digest, received = r["Body"], hashlib.md5(), 0
    step = max(1, min(int(args.rate / 20), 256 * 1024))
    marks = []  # (seconds since the start, bytes received so far)
    try:
        while True:
            chunk = body.read(step)
            if not chunk:
                break
            digest.update(chunk)
            received += len(chunk)
            marks.append((time.monotonic() - started, received))
            expected_elapsed = received / args.rate
            lag = expected_elapsed - (time.monotonic() - started)
            if lag > 0:
                time.sleep(lag)
    except Exception as e:  # noqa: BLE001
        return {"complete": False, "error": type(e).__name__, "bytes": received,
                "content_length": r["ContentLength"]}
    return {"complete": True, "md5": digest.hexdigest(), "bytes": received, "content_length": r["ContentLength"],
            "seconds": time.monotonic() - started, "marks": marks[::max(1, len(marks) // 64)] + marks[-1:]}


def read_then_disconnect(args):
    """Starts a large download, reads a little, and hangs up."""
    s3 = client(args)
    r = s3.get_object(Bucket=args.bucket, Key=args.key)
    first = r["Body"].read(1024 * 1024)
    r["Body"].close()
    return {"read": len(first), "content_length": r["ContentLength"]}


def raw(args):
    """Sends --raw bytes (with \\r\\n escapes) over one TCP connection and reports the reply."""
    url = urlparse(args.endpoint)
    payload = args.raw.encode().decode("unicode_escape").encode("latin-1")
    import socket

    try:
        sock = socket.create_connection((url.hostname, url.port), timeout=10)
    except OSError as e:
        return {"status": 0, "connect_error": type(e).__name__}
    with sock:
        sock.sendall(payload)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return {"status": status, "headers": headers, "body": body.decode("utf-8", errors="replace")}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _signed_lines(args, method, path, length):
    """Header lines for a raw request: Host (and Content-Length), signed with UNSIGNED-PAYLOAD
    when --signed."""
    url = urlparse(args.endpoint)
    headers = {"Host": url.netloc}
    if length is not None:
        headers["Content-Length"] = str(length)
    if args.signed:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD" if length is not None else hashlib.sha256(b"").hexdigest()
        request = AWSRequest(method=method, url=f"{args.endpoint}{path}", headers=dict(headers))
        SigV4Auth(Credentials(args.cluster["access_key"], args.cluster["secret_key"]), "s3", args.cluster["region"]).add_auth(request)
        headers = dict(request.headers.items())
    return "".join(f"{k}: {v}\r\n" for k, v in headers.items())


def bulk(args):
    """Streams --size bytes up (PUT) and down (GET) through the gateway to a bulk node, while sampling
    the gateway's resident memory (--pid). Nothing is kept on either end: this measures the gateway."""
    import socket

    url = urlparse(args.endpoint)
    idle = rss_kib(args.pid)
    peak = {"kib": idle}
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak["kib"] = max(peak["kib"], rss_kib(args.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = {"idle_rss_kib": idle}
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        started = time.monotonic()
        sock.sendall(f"PUT /bulk/upload HTTP/1.1\r\n{_signed_lines(args, 'PUT', '/bulk/upload', args.size)}\r\n".encode())
        block = b"\1" * (1 << 20)
        left = args.size
        while left > 0:
            n = min(left, len(block))
            sock.sendall(block[:n] if n < len(block) else block)
            left -= n
        reply = b""
        while b"}" not in reply:
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
        out["put_seconds"] = time.monotonic() - started
        out["put_reply"] = reply.decode(errors="replace").split("\r\n\r\n", 1)[-1]
        started = time.monotonic()
        sock.sendall(f"GET /bulk/{args.size} HTTP/1.1\r\n{_signed_lines(args, 'GET', f'/bulk/{args.size}', None)}\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(65536)
        head, _, body = buf.partition(b"\r\n\r\n")
        received = len(body)
        view = bytearray(1 << 20)
        while received < args.size:
            n = sock.recv_into(view)
            if n == 0:
                break
            received += n
        out["get_seconds"] = time.monotonic() - started
        out["get_status"] = head.split(b"\r\n")[0].decode()
        out["get_received"] = received
    done.set()
    sampler.join()
    out["peak_rss_kib"] = max(peak["kib"], rss_kib(args.pid))
    return out


def timed_gets(args):
    """Puts one object, then GETs it --count times in a row, timing each; failures are recorded."""
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    data = os.urandom(args.size)
    s3.put_object(Bucket=args.bucket, Key=args.key, Body=data)
    out = []
    for _ in range(args.count):
        started = time.monotonic()
        error = None
        try:
            body = s3.get_object(Bucket=args.bucket, Key=args.key)["Body"].read()
            if body != data:
                error = "corrupt body"
        except Exception as e:  # noqa: BLE001
            error = error_code(e)
        out.append({"seconds": time.monotonic() - started, "error": error})
    return {"gets": out}


def mixed(args):
    """--count PUTs and GETs of small objects in a row; every failure is recorded with its code."""
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    errors = []
    for i in range(args.count):
        data = os.urandom(args.size)
        try:
            s3.put_object(Bucket=args.bucket, Key=f"mixed/{i}", Body=data)
            if s3.get_object(Bucket=args.bucket, Key=f"mixed/{i}")["Body"].read() != data:
                errors.append("corrupt body")
        except Exception as e:  # noqa: BLE001
            errors.append(error_code(e))
    return {"count": args.count, "errors": errors}


def many_gets(args):
    """--count small GETs on one keep-alive connection through the gateway to a bulk node, with the
    gateway's RSS after a warm-up and at the end: memory kept per request shows as growth."""
    import socket

    url = urlparse(args.endpoint)
    request = f"GET /bulk/{args.size} HTTP/1.1\r\nHost: {url.netloc}\r\n\r\n".encode()
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        buf = b""

        def one():
            nonlocal buf
            sock.sendall(request)
            while b"\r\n\r\n" not in buf:
                buf += sock.recv(65536)
            head, _, buf = buf.partition(b"\r\n\r\n")
            while len(buf) < args.size:
                buf += sock.recv(65536)
            buf = buf[args.size:]
            return head.split(b"\r\n")[0].decode()

        for _ in range(500):
            one()
        warm = rss_kib(args.pid)
        statuses = set(one() for _ in range(args.count))
    return {"warm_rss_kib": warm, "end_rss_kib": rss_kib(args.pid), "statuses": sorted(statuses)}


def fan_out(args):
    """--count readers GET --key at once, each on its own client (its own connections). Of them,
    --slow read at --rate bytes/s, --outsiders sign with the cluster's list-only key, --hang-ups
    read 1 MiB and close, and --late start --stagger seconds after the rest. With --download each
    reader is boto3's own download_file (a HEAD, then ranged GETs of 8 MiB parts with If-Match,
    ten at a time). Reports each reader's md5, bytes
    and error, and with --pid the gateway's peak RSS while they read."""
    import threading

    roles = (["slow"] * args.slow + ["outsider"] * args.outsiders + ["hang-up"] * args.hang_ups + ["late"] * args.late
             + ["stuck"] * args.stuck)
    roles += ["reader"] * max(0, args.count - len(roles))
    results = [None] * len(roles)
    clients = []
    for role in roles:
        keys = {}
        if role == "outsider":
            keys = dict(access_key=args.cluster["outsider_access_key"], secret_key=args.cluster["outsider_secret_key"])
        clients.append(client(args, **keys))
    peak = [rss_kib(args.pid) if args.pid else 0]
    done = threading.Event()
    others_done = threading.Event()
    others = [0]
    others_lock = threading.Lock()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(args.pid))
            time.sleep(0.05)

    def read(i, role):
        started = time.monotonic()
        if role == "late":
            time.sleep(args.stagger)
        out = {"role": role, "bytes": 0}
        if args.download:
            try:
                with tempfile.NamedTemporaryFile() as f:
                    clients[i].download_file(args.bucket, args.key, f.name)
                    data = open(f.name, "rb").read()
                out.update(md5=md5(data), bytes=len(data))
            except Exception as e:  # noqa: BLE001
                out["error"] = error_code(e)
            out["seconds"] = time.monotonic() - started
            results[i] = out
            return
        try:
            r = clients[i].get_object(Bucket=args.bucket, Key=args.key)
            body, digest = r["Body"], hashlib.md5()
            if role == "stuck":
                # Takes the head, then reads nothing until every other reader is done.
                others_done.wait(timeout=300)
                body.close()
                out["seconds"] = time.monotonic() - started
                results[i] = out
                return
            limit = 1 << 20 if role == "hang-up" else None
            # A slow reader's pace counts from its first body byte: counted from before the request,
            # a head that took seconds to come (a loaded machine) let it read that long at full speed.
            paced_from = time.monotonic()
            while True:
                chunk = body.read(256 * 1024)
                if not chunk:
                    break
                digest.update(chunk)
                out["bytes"] += len(chunk)
                if role == "slow":
                    lag = out["bytes"] / args.rate - (time.monotonic() - paced_from)
                    if lag > 0:
                        time.sleep(lag)
                if limit and out["bytes"] >= limit:
                    body.close()
                    break
            out["md5"] = digest.hexdigest()
            out["checksum"] = r.get("ChecksumCRC32") or r.get("ChecksumCRC64NVME")
        except Exception as e:  # noqa: BLE001
            out["error"] = error_code(e)
        out["seconds"] = time.monotonic() - started
        results[i] = out
        with others_lock:
            others[0] += 1
            if others[0] == len(roles) - args.stuck:
                others_done.set()

    if args.pid:
        threading.Thread(target=sample, daemon=True).start()
    threads = [threading.Thread(target=read, args=(i, role)) for i, role in enumerate(roles)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    done.set()
    return {"readers": results, "peak_rss_kib": peak[0]}


def retried_gets(args):
    """--count GETs of one object with boto3's standard retry mode on (as production clients run):
    reports how many retries the SDK made and whether every GET finally succeeded."""
    s3 = client(args, retries=10)
    ensure_bucket(s3, args.bucket)
    s3.put_object(Bucket=args.bucket, Key=args.key, Body=b"x" * args.size)
    started = time.monotonic()
    retries = errors = 0
    for _ in range(args.count):
        try:
            r = s3.get_object(Bucket=args.bucket, Key=args.key)
            r["Body"].read()
            retries += r["ResponseMetadata"].get("RetryAttempts", 0)
        except Exception:  # noqa: BLE001
            errors += 1
    return {"retries": retries, "errors": errors, "seconds": time.monotonic() - started}


def hammer(args):
    """--threads clients GET as fast as they can for --duration seconds (retries off); counts
    successes and refusals per second."""
    s3s = [client(args) for _ in range(args.threads)]
    ensure_bucket(s3s[0], args.bucket)
    try:
        s3s[0].put_object(Bucket=args.bucket, Key=args.key, Body=b"x" * args.size)
    except ClientError:
        pass
    ok, refused, other = [0], [0], {}
    lock = threading.Lock()
    if args.start_at:
        # Start on a wall-clock instant, so runs on several clients cover the same whole seconds.
        time.sleep(max(0.0, args.start_at - time.time()))
    deadline = time.monotonic() + args.duration

    def work(s3):
        while time.monotonic() < deadline:
            try:
                s3.get_object(Bucket=args.bucket, Key=args.key)["Body"].read()
                with lock:
                    ok[0] += 1
            except Exception as e:  # noqa: BLE001
                code = error_code(e)
                with lock:
                    if code == "SlowDown":
                        refused[0] += 1
                    else:
                        other[code] = other.get(code, 0) + 1

    threads = [threading.Thread(target=work, args=(s,)) for s in s3s]
    started, started_wall = time.monotonic(), time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"ok": ok[0], "slowdown": refused[0], "other": other, "seconds": time.monotonic() - started,
            "started_at": started_wall, "ended_at": time.time()}


def presign_expired(args):
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    s3.put_object(Bucket=args.bucket, Key=args.key, Body=b"soon gone")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": args.bucket, "Key": args.key}, ExpiresIn=1)
    time.sleep(2.2)
    try:
        with urllib.request.urlopen(url) as r:
            return {"status": r.status, "body": r.read().decode()}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read().decode()}


def tampered(args):
    """A correctly signed GET whose signed header is changed after signing, sent as is."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = urlparse(args.endpoint)
    request = AWSRequest(method="GET", url=f"{args.endpoint}/{args.bucket}/{args.key}",
                         headers={"x-amz-meta-note": "original", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(Credentials(args.cluster["access_key"], args.cluster["secret_key"]), "s3", args.cluster["region"]).add_auth(request)
    headers = dict(request.headers.items())
    headers["x-amz-meta-note"] = "changed"
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("GET", f"/{args.bucket}/{args.key}", headers=headers)
    r = conn.getresponse()
    return {"status": r.status, "body": r.read().decode()}


def workload(args):
    """A known workload for the observability tests: --count PUTs of --size bytes, two GETs of each,
    --missing GETs of keys that do not exist, and one GET carrying a W3C traceparent (--trace-id)."""
    s3 = client(args)
    ensure_bucket(s3, args.bucket)
    data = os.urandom(args.size)
    for i in range(args.count):
        s3.put_object(Bucket=args.bucket, Key=f"w/{i}", Body=data)
    got = 0
    for _ in range(2):
        for i in range(args.count):
            got += len(s3.get_object(Bucket=args.bucket, Key=f"w/{i}")["Body"].read())
    missing = []
    for i in range(args.missing):
        try:
            s3.get_object(Bucket=args.bucket, Key=f"missing/{i}")
            missing.append(None)
        except ClientError as e:
            missing.append(error_code(e))
    traced = client(args)
    traceparent = f"00-{args.trace_id}-00f067aa0ba902b7-01"
    traced.meta.events.register("before-send.s3.GetObject", lambda request, **_: request.headers.__setitem__("traceparent", traceparent))
    got += len(traced.get_object(Bucket=args.bucket, Key="w/0")["Body"].read())
    return {"puts": args.count, "gets": 2 * args.count + 1, "bytes_got": got, "missing": missing}


SCENARIOS = {
    "workload": workload,
    "tls-peer": tls_peer,
    "retried-gets": retried_gets,
    "hammer": hammer,
    "presign-expired": presign_expired,
    "tampered": tampered,
    "many-gets": many_gets,
    "fan-out": fan_out,
    "timed-gets": timed_gets,
    "mixed": mixed,
    "bulk": bulk,
    "put-random": put_random,
    "slow-get": slow_get,
    "read-then-disconnect": read_then_disconnect,
    "raw": raw,
    "roundtrip": roundtrip,
    "multipart": multipart,
    "ranges": ranges,
    "list-encoded": list_encoded,
    "presign": presign,
    "chunked-trailer": chunked_trailer,
    "chunked-signed": chunked_signed,
    "unsigned-trailer": unsigned_trailer,
    "copy-delete": copy_delete,
    "virtual-host": virtual_host,
    "bad-secret": bad_secret,
    "load": load,
    "get": get,
    "list": listing,
    "copy-from": copy_from,
    "seed": seed,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--endpoint", required=True)
    p.add_argument("--cluster-json", default='{"region": "us-east-1", "access_key": "x", "secret_key": "x"}')
    p.add_argument("--bucket", default="spillway-test")
    p.add_argument("--sizes", default="0,1024")
    p.add_argument("--size", type=int, default=256 * 1024)
    p.add_argument("--parts", type=int, default=3)
    p.add_argument("--part-size", type=int, default=5 * MiB)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--duration", type=float, default=6.0)
    p.add_argument("--max-requests", type=int, default=10_000)
    p.add_argument("--object-size", type=int, default=64 * 1024)
    p.add_argument("--stop-url")
    p.add_argument("--stop-after", type=float, default=2.0)
    p.add_argument("--key", default="object.bin")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--pid", type=int, default=0, help="bulk: the gateway's process id")
    p.add_argument("--rate", type=float, default=8 * MiB, help="slow-get: bytes per second")
    p.add_argument("--start-at", type=float, default=0, help="hammer: wall-clock time (epoch seconds) to start at")
    p.add_argument("--missing", type=int, default=3, help="workload: GETs of keys that do not exist")
    p.add_argument("--trace-id", default="4bf92f3577b34da6a3ce929d0e0e4736", help="workload: the trace id to send")
    p.add_argument("--raw", default="", help="raw: request bytes, with \\r\\n escapes")
    p.add_argument("--ca-bundle", help="PEM CAs to trust for an https:// endpoint")
    p.add_argument("--client-cert", help="a client certificate to present (mutual TLS), with --client-key")
    p.add_argument("--client-key")
    p.add_argument("--checksums", default="when_supported", help="botocore's request_checksum_calculation")
    p.add_argument("--chunk-size", type=int, default=64 * 1024, help="aws-chunked scenarios: bytes per chunk")
    p.add_argument("--transfer-chunked", action="store_true", help="aws-chunked scenarios: inside Transfer-Encoding: chunked, without a Content-Length")
    p.add_argument("--trailer", action="store_true", help="chunked-signed: the -TRAILER form, with a trailing CRC32")
    p.add_argument("--bad-checksum", action="store_true", help="unsigned-trailer: send a trailing checksum that does not match")
    p.add_argument("--prefix", default="", help="list: the prefix listed")
    p.add_argument("--source-bucket", default="", help="copy-from: the bucket copied from")
    p.add_argument("--unsigned-payload", action="store_true", help="sign bodies as UNSIGNED-PAYLOAD (botocore's payload_signing_enabled: false)")
    p.add_argument("--reads-only", action="store_true", help="load: GETs only, of the object `seed` wrote")
    p.add_argument("--signed", action="store_true", help="bulk: sign both requests (UNSIGNED-PAYLOAD) with the cluster-json key")
    p.add_argument("--slow", type=int, default=0, help="fan-out: readers that read at --rate")
    p.add_argument("--outsiders", type=int, default=0, help="fan-out: readers signing with the cluster's list-only key")
    p.add_argument("--hang-ups", type=int, default=0, help="fan-out: readers that read 1 MiB and close")
    p.add_argument("--late", type=int, default=0, help="fan-out: readers that start --stagger seconds later")
    p.add_argument("--stuck", type=int, default=0, help="fan-out: readers that take the head and read nothing until the rest are done")
    p.add_argument("--download", action="store_true", help="fan-out: each reader is boto3's download_file")
    p.add_argument("--if-none-match", help="get: make the GET conditional on this ETag")
    p.add_argument("--stagger", type=float, default=0.5, help="fan-out: how much later the late readers start")
    p.add_argument("--fresh-every", type=int, default=0, help="load: a new client (new connections) every N requests")
    args = p.parse_args()
    args.cluster = json.loads(args.cluster_json)
    try:
        result = SCENARIOS[args.scenario](args)
    except ClientError as e:
        # An S3 error the client could not get past: reported as data, with its own exit status.
        meta = e.response.get("ResponseMetadata", {})
        json.dump({"error": error_code(e), "status": meta.get("HTTPStatusCode"),
                   "request_id": meta.get("RequestId"), "message": str(e),
                   "retry_after": meta.get("HTTPHeaders", {}).get("retry-after")}, sys.stdout)
        sys.stdout.write("\n")
        sys.exit(3)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
