#!/usr/bin/env python3
"""A browser for tests: completes the runner sandbox's login with plain HTTP.

    python3 tests/browser/sandbox_login.py [--verbose] URL

URL is an authorization URL (/oauth/v2/auth?...) or a device verification URL
(/oauth/v2/device/verify?user_code=...). The script GETs it, fills the login form
with the password (`demo`, or $SANDBOX_LOGIN_PASSWORD), presses "Sign in and allow"
(or "Deny" when $SANDBOX_LOGIN_DENY=1) and, for the authorization code flow, follows
the final redirect to the loopback redirect URI with a plain GET, as a browser
would, so that the client's listener receives the code (or the error).

Runner runs it as RUNNER_BROWSER="python3 tests/browser/sandbox_login.py", the URL
appended as the last argument. It prints nothing on success (with --verbose, the
steps, on stderr), and never a code, a token or a password: URLs are shown without
their query. It exits 0 when the login went through (or Deny was pressed) and the
redirect, if any, was delivered; otherwise 1, with a one-line reason on stderr.
$SANDBOX_LOGIN_CAFILE names a CA bundle for a sandbox served with --tls.

Python 3 standard library only.
"""

import http.cookiejar
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

MAX_HOPS = 10
TIMEOUT = 30
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class Failure(Exception):
    """Why the login did not go through, in one line."""


class LoginPage(HTMLParser):
    """The parts of a sandbox page the script needs: the form with id `login` (its
    action, fields and buttons), the text of `#error` and the word of `#outcome`."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.form = None  # {"action": str, "method": str}
        self.fields = []  # [(type, name, value)] in document order
        self.buttons = []  # [(name, value, text)]
        self.error = None
        self.outcome = None
        self._in_form = False
        self._capture = None  # "error" or ("button", index)
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form" and attrs.get("id") == "login":
            self.form = {
                "action": attrs.get("action", ""),
                "method": attrs.get("method", "get").lower(),
            }
            self._in_form = True
        elif tag == "input" and self._in_form and attrs.get("name"):
            self.fields.append(
                (attrs.get("type", "text").lower(), attrs["name"], attrs.get("value", ""))
            )
        elif tag == "button" and self._in_form:
            self.buttons.append((attrs.get("name", ""), attrs.get("value", ""), ""))
            self._capture = ("button", len(self.buttons) - 1)
            self._text = []
        elif attrs.get("id") == "error":
            self._capture = "error"
            self._text = []
        if attrs.get("id") == "outcome":
            self.outcome = attrs.get("data-outcome", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        if self._capture is None:
            return
        text = " ".join("".join(self._text).split())
        if self._capture == "error" and tag == "p":
            self.error = text
            self._capture = None
        elif isinstance(self._capture, tuple) and tag == "button":
            index = self._capture[1]
            name, value, _ = self.buttons[index]
            self.buttons[index] = (name, value, text)
            self._capture = None

    def handle_data(self, data):
        if self._capture is not None:
            self._text.append(data)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Every redirect comes back to the script, which decides where it may go."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def without_query(url):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def origin(url):
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme, parts.hostname, parts.port)


class Browser:
    def __init__(self, verbose):
        self.verbose = verbose
        handlers = [
            urllib.request.ProxyHandler({}),  # everything here is on loopback
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            NoRedirects(),
        ]
        cafile = os.environ.get("SANDBOX_LOGIN_CAFILE")
        if cafile:
            context = ssl.create_default_context(cafile=cafile)
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self.opener = urllib.request.build_opener(*handlers)

    def say(self, message):
        if self.verbose:
            print(f"sandbox_login: {message}", file=sys.stderr)

    def request(self, method, url, form=None):
        """(status, Location or None, body text) for one request, redirects not followed."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            response = self.opener.open(req, timeout=TIMEOUT)
        except urllib.error.HTTPError as err:
            response = err  # 3xx (not followed), 4xx and 5xx still carry a page
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise Failure(f"cannot reach {without_query(url)}: {reason}") from None
        with response:
            body = response.read().decode("utf-8", "replace")
            location = response.headers.get("Location")
            status = response.status if hasattr(response, "status") else response.code
        self.say(f"{method} {without_query(url)} -> {status}")
        return status, location, body


def fill(page, password, deny):
    """The form's fields as a browser would submit them, with the chosen button."""
    fields = []
    for kind, name, value in page.fields:
        if kind == "password":
            value = password
        elif kind in ("submit", "button", "image", "reset"):
            continue
        fields.append((name, value))
    wanted = "deny" if deny else "approve"
    button = next((b for b in page.buttons if b[1] == wanted), None)
    if button is None:
        raise Failure(f"the login form has no {wanted!r} button")
    if button[0]:
        fields.append((button[0], button[1]))
    return fields


def deliver(browser, start_url, location):
    """Follows a redirect off the sandbox: only to a loopback http URL, with a GET."""
    parts = urllib.parse.urlsplit(location)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise Failure(f"refusing to follow a redirect to {without_query(location)}: not loopback http")
    query = urllib.parse.parse_qs(parts.query)
    if "error" in query:
        browser.say(f"the server answered error={query['error'][0]}")
    status, _, _ = browser.request("GET", location)
    browser.say(f"the redirect reached {without_query(location)} ({status})")


def login(url, password, deny, verbose):
    browser = Browser(verbose)
    method, form, submitted = "GET", None, False
    for _ in range(MAX_HOPS):
        status, location, body = browser.request(method, url, form)
        if 300 <= status < 400:
            if not location:
                raise Failure(f"{status} without a Location from {without_query(url)}")
            target = urllib.parse.urljoin(url, location)
            if origin(target) != origin(url):
                deliver(browser, url, target)
                return
            method, form, url = "GET", None, target
            continue
        page = LoginPage()
        page.feed(body)
        if page.outcome is not None:
            if page.outcome in ("approved", "denied"):
                browser.say(f"the device was {page.outcome}")
                return
            raise Failure(page.error or f"the sandbox says {page.outcome}")
        if page.form is None or submitted and page.error:
            raise Failure(page.error or f"no login form at {without_query(url)} ({status})")
        if page.form["method"] != "post":
            raise Failure("the login form is not a POST form")
        if submitted and not page.error:
            raise Failure("the login form came back after it was submitted")
        method = "POST"
        form = fill(page, password, deny)
        url = urllib.parse.urljoin(url, page.form["action"])
        submitted = True
    raise Failure(f"more than {MAX_HOPS} pages and redirects")


def main(argv):
    args = argv[1:]
    verbose = False
    if args and args[0] in ("-v", "--verbose"):
        verbose, args = True, args[1:]
    if len(args) != 1:
        print("usage: sandbox_login.py [--verbose] URL", file=sys.stderr)
        return 2
    password = os.environ.get("SANDBOX_LOGIN_PASSWORD", "demo")
    deny = os.environ.get("SANDBOX_LOGIN_DENY", "") == "1"
    try:
        login(args[0], password, deny, verbose)
    except Failure as failure:
        print(f"sandbox_login: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
