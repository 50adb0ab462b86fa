#!/usr/bin/env python3
"""An AWS SigV4 verifier nobody here wrote: each request is signed again by botocore's
own signer (botocore.auth.SigV4Auth, or S3SigV4Auth for service s3) from what arrived,
and answered 200 when runner's signature is the one botocore computes, 403 otherwise.

    python3 tests/aws/verifier.py ACCESS_KEY_ID SECRET REGION SERVICE [SESSION_TOKEN]

Prints its URL on the first line of stdout. Routes:
  /redirect?to=URL   302 to URL, once the request that asked is verified
  /open/...          unsigned requests welcome: says which credential headers came
  anything else      verified: 200 {"verified": true, "payload": ..., "body_sha256": ...}
"""
import hashlib
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY, SECRET, REGION, SERVICE = sys.argv[1:5]
TOKEN = sys.argv[5] if len(sys.argv) > 5 else None
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
)


def verify(method, raw_path, headers, body):
    """None when botocore computes the same signature, else why not."""
    auth = headers.get("authorization")
    if auth is None:
        return "no Authorization header"
    m = AUTH_RE.match(auth)
    if not m:
        return "Authorization is not AWS4-HMAC-SHA256: " + auth
    key, day, region, service, signed, signature = m.groups()
    if (key, region, service) != (KEY, REGION, SERVICE):
        return f"wrong credential scope {key}/{region}/{service}"
    names = signed.split(";")
    for needed in ["host", "x-amz-date", "x-amz-content-sha256"] + (
        ["x-amz-security-token"] if TOKEN else []
    ):
        if needed not in names:
            return f"{needed} is not signed"
    if TOKEN and headers.get("x-amz-security-token") != TOKEN:
        return "wrong session token"
    payload = headers.get("x-amz-content-sha256")
    if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
        return "x-amz-content-sha256 is not the body's hash"
    signed_headers = {n: headers[n] for n in names if n in headers}
    if len(signed_headers) != len(names):
        return "a signed header did not arrive"
    request = AWSRequest(
        method=method,
        url="http://" + headers["host"] + raw_path,
        headers=signed_headers,
        data=body,
    )
    request.context["timestamp"] = headers["x-amz-date"]
    if not headers["x-amz-date"].startswith(day):
        return "x-amz-date is not the scope's day"
    signer = (S3SigV4Auth if SERVICE == "s3" else SigV4Auth)(
        Credentials(KEY, SECRET, TOKEN), SERVICE, REGION
    )
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if expected != signature:
        return "signature mismatch; botocore's canonical request:\n" + canonical
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def body(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def answer(self, status, value, location=None):
        data = json.dumps(value).encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        body = self.body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        url = urlsplit(self.path)
        if url.path.startswith("/open/"):
            sent = sorted(h for h in headers if h == "authorization" or h.startswith("x-amz-"))
            return self.answer(200, {"credential_headers": sent})
        why = verify(self.command, self.path, headers, body)
        if why:
            return self.answer(403, {"verified": False, "why": why})
        if url.path == "/redirect":
            to = parse_qs(url.query)["to"][0]
            return self.answer(302, {}, location=to)
        self.answer(200, {
            "verified": True,
            "payload": headers["x-amz-content-sha256"],
            "body_sha256": hashlib.sha256(body).hexdigest(),
        })

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
server.serve_forever()
