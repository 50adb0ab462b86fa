import json
from urllib.parse import parse_qs

from . import stats

TOKEN_PATH = "/o/token/"


class StatsMiddleware:
    """Counts token-endpoint requests by grant type, client authentication and outcome,
    and API calls by status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path == TOKEN_PATH:
            # Read the raw body (Django caches it) rather than request.POST, so that
            # DOT can still read it however it likes.
            try:
                form = parse_qs(request.body.decode("utf-8", "replace"))
            except Exception:  # noqa: BLE001 - stats must never break the endpoint
                form = {}
            grant_type = (form.get("grant_type") or [""])[0]
            # Where the client put its credentials: the Authorization header or the body.
            header = request.META.get("HTTP_AUTHORIZATION", "")
            if header.lower().startswith("basic "):
                client_auth = "basic"
            elif "client_secret" in form:
                client_auth = "body"
            else:
                client_auth = "none"
            response = self.get_response(request)
            error = None
            if response.status_code != 200:
                try:
                    error = json.loads(response.content).get("error") or "(no error field)"
                except Exception:  # noqa: BLE001
                    error = "(non-json response)"
            stats.record_token(grant_type, response.status_code, error, client_auth)
            return response

        response = self.get_response(request)
        if request.path.startswith("/api/"):
            stats.record_api(request.path, response.status_code)
        return response
