#!/usr/bin/python3
"""A small S3 endpoint for tests that checks every request's SigV4 signature.

It serves GET and HEAD (one byte range at most) of the files under ROOT as
path-style objects: http://127.0.0.1:PORT/BUCKET/KEY is ROOT/BUCKET/KEY,
and a bucket is a folder. The signature of each request is recomputed with
botocore (Debian's python3-botocore) from the Authorization header's
credential scope and signed headers, with the secret known for the key id:
a mismatch is answered 403 SignatureDoesNotMatch, an unknown key id 403
InvalidAccessKeyId, exactly as S3 words them.

Faults for tests, set at run time by GET /__control/fault?mode=M&count=N
(count: how many object GETs it applies to, default all until reset by
mode=none):
  short       Content-Range as asked, but fewer bytes in the body
              (an honest, shorter Content-Length)
  drop        the full Content-Length announced, half the body sent, then
              the connection is closed
  500         HTTP 500 InternalError
  wrongrange  the bytes of another range than asked, labelled as such
  norange     the Range header ignored: 200 and the whole object
  stall       headers sent, then nothing until the client gives up
GET /__control/etag?suffix=S changes every ETag (as if replaced), and
GET /__control/stats returns counters and the last SignedHeaders as JSON.

GET /BUCKET?list-type=2[&prefix=P][&continuation-token=T] is
ListObjectsV2 (signed like the rest), --page-size keys a page (default
1000, as S3), so that a client's pagination is tested with few files.
"""
import argparse
import email.utils
import hmac
import json
import os
import socket
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def xml_error(code, message, resource="", region=""):
    extra = f"<Region>{region}</Region>" if region else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>{extra}"
        f"<Resource>{resource}</Resource><RequestId>0</RequestId></Error>"
    ).encode()


class State:
    def __init__(self, args):
        self.root = os.path.realpath(args.root)
        self.keys = {}
        for spec in args.key:
            parts = spec.split(":", 2)
            if len(parts) < 2:
                sys.exit(f"s3sig: --key {spec!r}: expected ID:SECRET[:TOKEN]")
            self.keys[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else None)
        self.anonymous = args.anonymous
        self.region = args.region
        self.bucket_regions = dict(b.split("=", 1) for b in args.bucket_region)
        self.lock = threading.Lock()
        self.fault = "none"
        self.fault_left = -1
        self.etag_suffix = ""
        self.stats = {"get": 0, "head": 0, "signed_headers": "", "faults": 0,
                      "refused": 0, "lists": 0}
        self.page_size = args.page_size

    def take_fault(self):
        with self.lock:
            if self.fault == "none" or self.fault_left == 0:
                return "none"
            if self.fault_left > 0:
                self.fault_left -= 1
            self.stats["faults"] += 1
            return self.fault


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "s3sig"

    def log_message(self, fmt, *args):
        if self.server.state.verbose:
            sys.stderr.write("s3sig: " + (fmt % args) + "\n")

    def reply(self, code, body=b"", headers=None, head=False):
        self.send_response(code)
        hdrs = {"Content-Length": str(len(body)), "x-amz-request-id": "0"}
        if body:
            hdrs["Content-Type"] = "application/xml"
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def error(self, code, s3code, message, head=False, region=""):
        with self.server.state.lock:
            self.server.state.stats["refused"] += 1
        headers = {"x-amz-bucket-region": region} if region else {}
        self.reply(code, xml_error(s3code, message, self.path, region),
                   headers, head=head)

    # ---- signature ----
    def check_signature(self, raw_path, bucket):
        st = self.server.state
        auth = self.headers.get("Authorization")
        if not auth:
            if st.anonymous:
                return None
            return (403, "AccessDenied", "Access Denied")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return (400, "InvalidArgument", "Unsupported Authorization Type")
        fields = {}
        for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
            k, _, v = part.strip().partition("=")
            fields[k] = v
        try:
            key_id, date, region, service, term = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            given = fields["Signature"]
        except (KeyError, ValueError):
            return (400, "AuthorizationHeaderMalformed",
                    "The authorization header is malformed")
        if key_id not in st.keys:
            return (403, "InvalidAccessKeyId", "The AWS Access Key Id you "
                    "provided does not exist in our records.")
        if service != "s3" or term != "aws4_request":
            return (400, "AuthorizationHeaderMalformed",
                    f"bad credential scope service {service}")
        expected = st.bucket_regions.get(bucket, st.region)
        if expected and region != expected:
            return (400, "AuthorizationHeaderMalformed",
                    f"the region '{region}' is wrong; expecting "
                    f"'{expected}'", False, expected)
        if self.headers.get("x-amz-content-sha256") is None:
            return (400, "InvalidRequest", "Missing required header for this "
                    "request: x-amz-content-sha256")
        for need in ("host", "x-amz-date", "x-amz-content-sha256"):
            if need not in signed:
                return (403, "SignatureDoesNotMatch",
                        f"{need} is not among the signed headers")
        secret, token = st.keys[key_id]
        if token is not None:
            if self.headers.get("x-amz-security-token") != token:
                return (403, "InvalidToken", "The provided token is malformed "
                        "or otherwise invalid.")
            if "x-amz-security-token" not in signed:
                return (403, "SignatureDoesNotMatch",
                        "x-amz-security-token is not signed")
        amz_date = self.headers.get("x-amz-date", "")
        if amz_date[:8] != date:
            return (403, "SignatureDoesNotMatch", "x-amz-date is not the "
                    "credential scope's date")
        headers = {}
        for name in signed:
            values = self.headers.get_all(name)
            if values is None:
                return (403, "SignatureDoesNotMatch",
                        f"signed header {name} is missing")
            headers[name] = ",".join(values)
        req = AWSRequest(method=self.command,
                         url=f"http://{headers.get('host', 'localhost')}{raw_path}",
                         headers=headers)
        req.context["timestamp"] = amz_date
        signer = S3SigV4Auth(Credentials(key_id, secret, token), "s3", region)
        canonical = signer.canonical_request(req)
        expect = signer.signature(signer.string_to_sign(req, canonical), req)
        with st.lock:
            st.stats["signed_headers"] = fields["SignedHeaders"]
            st.stats["last_key"] = key_id
        if not hmac.compare_digest(expect, given):
            if st.verbose:
                sys.stderr.write(f"s3sig: canonical request:\n{canonical}\n")
            return (403, "SignatureDoesNotMatch", "The request signature we "
                    "calculated does not match the signature you provided. "
                    "Check your key and signing method.")
        return None

    # ---- control ----
    def control(self, what, query):
        st = self.server.state
        q = urllib.parse.parse_qs(query)
        with st.lock:
            if what == "fault":
                st.fault = q.get("mode", ["none"])[0]
                st.fault_left = int(q.get("count", ["-1"])[0])
            elif what == "etag":
                st.etag_suffix = q.get("suffix", [""])[0]
            elif what == "reset":
                for k in ("get", "head", "faults", "refused"):
                    st.stats[k] = 0
            body = json.dumps(st.stats).encode()
        self.reply(200, body, {"Content-Type": "application/json"})

    # ---- listing ----
    def list_objects(self, bdir, bucket, q):
        st = self.server.state
        with st.lock:
            st.stats["lists"] += 1
        token = q.get("continuation-token", [None])[0]
        try:
            start_after = bytes.fromhex(token).decode() if token else None
        except ValueError:
            return self.error(400, "InvalidArgument", "The continuation "
                              "token provided is incorrect")
        body = list_page(bucket, q.get("prefix", [""])[0], list_keys(bdir),
                         start_after, st.page_size)
        self.reply(200, body)

    # ---- objects ----
    def do_HEAD(self):
        self.serve(head=True)

    def do_GET(self):
        self.serve(head=False)

    def serve(self, head):
        st = self.server.state
        raw_path, _, query = self.path.partition("?")
        if raw_path.startswith("/__control/"):
            return self.control(raw_path[len("/__control/"):], query)
        with st.lock:
            st.stats["head" if head else "get"] += 1
        parts = urllib.parse.unquote(raw_path).lstrip("/").split("/", 1)
        bucket = parts[0]
        key = parts[1] if len(parts) > 1 else ""
        refused = self.check_signature(self.path, bucket)
        if refused:
            code, s3code, message = refused[:3]
            region = refused[4] if len(refused) > 4 else ""
            return self.error(code, s3code, message, head, region)
        bdir = os.path.join(st.root, bucket)
        if not bucket or "/" in bucket or bucket in (".", "..") or not os.path.isdir(bdir):
            return self.error(404, "NoSuchBucket", "The specified bucket does "
                              "not exist", head)
        path = os.path.realpath(os.path.join(bdir, key))
        if not key and not head:
            q = urllib.parse.parse_qs(query, keep_blank_values=True)
            if q.get("list-type") == ["2"]:
                return self.list_objects(bdir, bucket, q)
        if not key or not path.startswith(bdir + "/") or not os.path.isfile(path):
            return self.error(404, "NoSuchKey", "The specified key does not "
                              "exist.", head)
        sb = os.stat(path)
        size = sb.st_size
        etag = f'"{size:x}-{sb.st_mtime_ns:x}{st.etag_suffix}"'
        last_modified = email.utils.formatdate(sb.st_mtime, usegmt=True)
        if_match = self.headers.get("If-Match")
        if if_match is not None and if_match.strip() not in (etag, "*"):
            return self.error(412, "PreconditionFailed", "At least one of the "
                              "pre-conditions you specified did not hold", head)
        ius = self.headers.get("If-Unmodified-Since")
        if ius is not None:
            t = email.utils.parsedate_to_datetime(ius).timestamp()
            if int(sb.st_mtime) > t:
                return self.error(412, "PreconditionFailed", "At least one "
                                  "of the pre-conditions you specified did "
                                  "not hold", head)
        fault = "none" if head else st.take_fault()
        common = {"ETag": etag, "Last-Modified": last_modified,
                  "Accept-Ranges": "bytes",
                  "Content-Type": "application/octet-stream"}
        if fault == "500":
            return self.reply(500, xml_error("InternalError", "We encountered "
                                             "an internal error. Please try "
                                             "again."))
        rng = self.headers.get("Range")
        start, end = 0, size - 1
        partial = False
        if rng and fault != "norange":
            spec = rng.strip()
            if not spec.startswith("bytes=") or "," in spec:
                return self.error(400, "InvalidArgument", "bad Range", head)
            a, _, b = spec[6:].partition("-")
            try:
                if a == "":
                    start = max(0, size - int(b))
                else:
                    start = int(a)
                    end = min(int(b), size - 1) if b else size - 1
            except ValueError:
                return self.error(400, "InvalidArgument", "bad Range", head)
            if start >= size or start > end:
                body = xml_error("InvalidRange", "The requested range is not "
                                 "satisfiable")
                return self.reply(416, body, {"Content-Range": f"bytes */{size}"},
                                  head)
            partial = True
        length = end - start + 1
        send_from = start
        if fault == "wrongrange" and partial:
            send_from = start + 1 if end + 1 < size else start - 1
            start, end = send_from, send_from + length - 1
        body_len = length
        if fault == "short":
            body_len = length // 2
        self.send_response(206 if partial else 200)
        for k, v in common.items():
            self.send_header(k, v)
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(body_len))
        self.end_headers()
        if head:
            return
        if fault == "stall":
            self.wfile.flush()
            time.sleep(3600)
            return
        if fault == "drop":
            body_len = length // 2
        with open(path, "rb") as f:
            f.seek(send_from)
            left = body_len
            while left > 0:
                chunk = f.read(min(left, 1 << 20))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)
        if fault == "drop":
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True


def list_keys(bdir):
    """Every file under BDIR as a key, in S3's (byte) order."""
    keys = []
    for top, _, files in os.walk(bdir):
        for name in files:
            full = os.path.join(top, name)
            keys.append((os.path.relpath(full, bdir), os.path.getsize(full)))
    return sorted(keys, key=lambda k: k[0].encode())


def list_page(bucket, prefix, keys, start_after, page_size):
    """One ListObjectsV2 page: the keys after START_AFTER."""
    chosen = [k for k in keys if k[0].startswith(prefix) and
              (start_after is None or k[0].encode() > start_after.encode())]
    page, more = chosen[:page_size], len(chosen) > page_size
    body = ['<?xml version="1.0" encoding="UTF-8"?>\n'
            '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
            f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>",
            f"<KeyCount>{len(page)}</KeyCount><MaxKeys>{page_size}</MaxKeys>",
            f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"]
    if more:
        token = page[-1][0].encode().hex()
        body.append(f"<NextContinuationToken>{token}</NextContinuationToken>")
    for key, size in page:
        body.append(f"<Contents><Key>{escape(key)}</Key><Size>{size}</Size>"
                    "<StorageClass>STANDARD</StorageClass></Contents>")
    body.append("</ListBucketResult>")
    return "".join(body).encode()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--key", action="append", default=[],
                   help="ID:SECRET[:SESSION_TOKEN] (repeatable)")
    p.add_argument("--region", default="",
                   help="refuse signatures scoped to another region")
    p.add_argument("--bucket-region", action="append", default=[],
                   help="BUCKET=REGION: that bucket's region (repeatable)")
    p.add_argument("--anonymous", action="store_true",
                   help="serve unsigned requests (a public bucket)")
    p.add_argument("--page-size", type=int, default=1000,
                   help="keys in a ListObjectsV2 page")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args)
    server.state.verbose = args.verbose
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
