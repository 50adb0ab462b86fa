#!/usr/bin/env python3
"""Stdlib-only smoke check of a running interop server (no curl needed).

    python3 tests/interop/dot/smoke.py [BASE_URL]

BASE_URL defaults to RUNNER_DOT_URL from the environment or $DOT_HOME/env; the access
TTL comes from RUNNER_DOT_ACCESS_TTL likewise (it sleeps TTL+0.5 s once). Exits non-zero
on any failure.
"""

import base64
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request


def server_env():
    """(base URL, access TTL) from argv / RUNNER_DOT_URL, else from $DOT_HOME/env."""
    home = os.environ.get("DOT_HOME") or os.path.join(os.environ.get("TMPDIR") or tempfile.gettempdir(), "runner-dot")
    env = {}
    try:
        with open(os.path.join(home, "env")) as f:
            env = dict(line.strip().split("=", 1) for line in f if "=" in line)
    except OSError:
        pass
    url = (sys.argv[1] if len(sys.argv) > 1 else None) or os.environ.get("RUNNER_DOT_URL") or env["RUNNER_DOT_URL"]
    ttl = os.environ.get("RUNNER_DOT_ACCESS_TTL") or env.get("RUNNER_DOT_ACCESS_TTL") or os.environ.get("DOT_ACCESS_TTL") or "2"
    return url.rstrip("/"), float(ttl)


URL, TTL = server_env()
passed = failed = 0


def http(method, path, form=None, basic=None, bearer=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method)
    if basic:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(basic).encode()).decode())
    if bearer:
        req.add_header("Authorization", "Bearer " + bearer)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"null")


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


PW = {"grant_type": "password", "username": "interop", "password": "interop-pass-1"}
APP = ("runner-interop", "interop-secret-1")

s, _, body = http("POST", "/o/token/", {**PW, "client_id": APP[0], "client_secret": APP[1]})
check("password grant, client auth in body", s == 200 and body.get("refresh_token"), body)
check("expires_in is a JSON number, token_type 'Bearer'",
      isinstance(body.get("expires_in"), int) and body.get("token_type") == "Bearer", body)
s, _, body = http("POST", "/o/token/", PW, basic=APP)
check("password grant, HTTP Basic client auth", s == 200, body)
at, rt1 = body["access_token"], body["refresh_token"]

s, _, body = http("GET", "/api/v1/me", bearer=at)
check("/api/v1/me with token -> 200", s == 200 and body == {**body, "username": "interop", "ok": True}, body)
s, h, body = http("GET", "/api/v1/me")
check("/api/v1/me without token -> 401 + WWW-Authenticate",
      s == 401 and h.get("WWW-Authenticate", "").startswith("Bearer"), (s, h, body))
s, _, body = http("GET", "/api/v1/items?page=3", bearer=at)
check("/api/v1/items last page", s == 200 and len(body["items"]) == 5 and body["next_page"] is None, body)

time.sleep(TTL + 0.5)
s, _, body = http("GET", "/api/v1/me", bearer=at)
check("expired access token -> 401 invalid_token", s == 401 and body.get("error") == "invalid_token", body)

s, _, body = http("POST", "/o/token/", {"grant_type": "refresh_token", "refresh_token": rt1}, basic=APP)
check("refresh grant -> new pair", s == 200 and body.get("refresh_token") not in (None, rt1), body)
at2, rt2 = body.get("access_token"), body.get("refresh_token")
s, _, body = http("POST", "/o/token/", {"grant_type": "refresh_token", "refresh_token": rt1}, basic=APP)
check("reusing the old refresh token -> 400 invalid_grant", s == 400 and body.get("error") == "invalid_grant", body)
s, _, body = http("GET", "/api/v1/me", bearer=at2)
check("reuse protection: new access token revoked", s == 401, body)
s, _, body = http("POST", "/o/token/", {"grant_type": "refresh_token", "refresh_token": rt2}, basic=APP)
check("reuse protection: new refresh token revoked", s == 400 and body.get("error") == "invalid_grant", body)

s, _, body = http("POST", "/o/token/", {"grant_type": "client_credentials"}, basic=("runner-cc", "cc-secret-1"))
check("client_credentials, Basic", s == 200 and "refresh_token" not in body, body)
s, _, body = http("POST", "/o/token/",
                  {"grant_type": "client_credentials", "client_id": "runner-cc", "client_secret": "cc-secret-1"})
check("client_credentials, body", s == 200, body)

s, _, body = http("GET", "/_stats")
check("/_stats counts", s == 200 and body["token_requests"]["refresh_token"] >= 3
      and body["token_errors"].get("invalid_grant", 0) >= 2, body)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
