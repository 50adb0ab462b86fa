import functools

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from oauth2_provider.models import get_refresh_token_model
from oauth2_provider.oauth2_backends import get_oauthlib_core

from . import stats

ITEMS = [{"id": i, "name": f"item-{i:02d}"} for i in range(1, 26)]  # 25 fixed items
PAGE_SIZE = 10


def _bearer_challenge(error, description=None):
    parts = ['Bearer realm="runner-interop"']
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    return ", ".join(parts)


def bearer_required(scopes):
    """Validate the bearer token with DOT's OAuthLibCore.

    Unlike DOT's ProtectedResourceView (bare 403), a missing/invalid/expired token gives
    401 JSON with ``WWW-Authenticate: Bearer ...`` (RFC 6750 §3); a valid token lacking
    the scope gives 403 ``insufficient_scope``.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            valid, oauthlib_req = get_oauthlib_core().verify_request(request, scopes=scopes)
            if valid:
                request.oauth2 = oauthlib_req
                return view(request, *args, **kwargs)
            # DOT records why on the oauthlib request: invalid_token ("invalid" /
            # "expired") or insufficient_scope. No Authorization header -> no error code
            # (RFC 6750 §3.1).
            oauth2_error = getattr(oauthlib_req, "oauth2_error", None) or {}
            has_header = request.headers.get("Authorization", "").lower().startswith("bearer ")
            error = oauth2_error.get("error") or ("invalid_token" if has_header else None)
            desc = str(oauth2_error.get("error_description") or "Bearer token required")
            if not has_header and "access_token" in request.GET:
                # DOT refuses query-string tokens (COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT).
                error, desc = "invalid_request", "access_token in the query string is not accepted"
            status = 403 if error == "insufficient_scope" else 401
            body = {"ok": False, "error": error or "unauthorized", "error_description": desc}
            resp = JsonResponse(body, status=status)
            resp["WWW-Authenticate"] = _bearer_challenge(error, desc if error else None)
            return resp

        return wrapped

    return decorator


@require_GET
@bearer_required(["read"])
def me(request):
    token = request.oauth2.access_token
    user = token.user
    return JsonResponse(
        {
            "username": user.get_username() if user else None,
            "client_id": token.application.client_id if token.application else None,
            "scope": token.scope,
            "ok": True,
        }
    )


@require_GET
@bearer_required(["read"])
def items(request):
    try:
        page = int(request.GET.get("page", "1"))
        if page < 1:
            raise ValueError
    except ValueError:
        return JsonResponse({"ok": False, "error": "invalid_page"}, status=400)
    start = (page - 1) * PAGE_SIZE
    chunk = ITEMS[start : start + PAGE_SIZE]
    has_more = start + PAGE_SIZE < len(ITEMS)
    return JsonResponse(
        {
            "items": chunk,
            "page": page,
            "next_page": f"/api/v1/items?page={page + 1}" if has_more else None,
        }
    )


@require_GET
def stats_view(request):
    data = stats.snapshot()
    data["refresh_tokens_revoked"] = get_refresh_token_model().objects.filter(revoked__isnull=False).count()
    data["refresh_tokens_live"] = get_refresh_token_model().objects.filter(revoked__isnull=True).count()
    return JsonResponse(data)


@csrf_exempt
@require_POST
def stats_reset(request):
    """Zero the in-process counters (tokens in the database are left alone)."""
    stats.reset()
    return JsonResponse({"ok": True})
