"""In-process counters behind GET /_stats (reset on restart or POST /_stats/reset)."""

import threading
from collections import Counter

GRANT_TYPES = ("password", "refresh_token", "client_credentials")

_lock = threading.Lock()
_token_requests = Counter()  # by grant_type as sent by the client
_token_errors = Counter()  # by OAuth2 "error" code in the error response
_token_status = Counter()  # by HTTP status of the token endpoint's response
_token_client_auth = Counter()  # by "grant_type client_auth" (basic, body or none)
_api_requests = Counter()  # by "path status", for the protected API views


def reset():
    with _lock:
        _token_requests.clear()
        _token_errors.clear()
        _token_status.clear()
        _token_client_auth.clear()
        _api_requests.clear()


def record_token(grant_type, status, error, client_auth):
    with _lock:
        _token_requests[grant_type or "(none)"] += 1
        _token_client_auth[f"{grant_type or '(none)'} {client_auth}"] += 1
        _token_status[str(status)] += 1
        if error:
            _token_errors[error] += 1


def record_api(path, status):
    with _lock:
        _api_requests[f"{path} {status}"] += 1


def snapshot():
    with _lock:
        requests = {g: 0 for g in GRANT_TYPES}
        requests.update(_token_requests)
        return {
            "token_requests": requests,
            "token_errors": dict(_token_errors),
            "token_responses": dict(_token_status),
            "token_client_auth": dict(_token_client_auth),
            "api_requests": dict(_api_requests),
        }
