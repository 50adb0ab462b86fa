"""Settings for the django-oauth-toolkit interop server (test-only, loopback-only).

Environment:
  DOT_DATA_DIR     directory holding the SQLite database (default ${TMPDIR:-/tmp}/runner-dot);
                   never inside the repository.
  DOT_ACCESS_TTL   access-token lifetime in seconds (default 2).
  DOT_LOG_LEVEL    level for the oauth2_provider logger (default ERROR; DEBUG shows why
                   DOT rejected a request).
"""

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = Path(
    os.environ.get("DOT_DATA_DIR")
    or os.path.join(os.environ.get("TMPDIR") or tempfile.gettempdir(), "runner-dot")
)
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Fixed, test-only key: this server only ever listens on loopback.
SECRET_KEY = "runner-interop-test-only-not-a-secret-6f1c0c2e"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "oauth2_provider",
    "interop_app",
]

# Minimal stack: no sessions / CSRF / auth middleware. DOT's token view is csrf_exempt
# anyway; the API views authenticate with the bearer token themselves.
MIDDLEWARE = [
    "interop_app.middleware.StatsMiddleware",
]

ROOT_URLCONF = "interop_site.urls"
WSGI_APPLICATION = None
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "db.sqlite3"),
        "OPTIONS": {
            # runserver is threaded: wait for locks instead of failing, take the write
            # lock up front (no lock-upgrade deadlocks) and let readers run during writes.
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Fast hasher for test speed: it is used both for the user's password and for DOT's
# hashed client secrets (CLIENT_SECRET_HASHER "default" = first entry here). The
# default PBKDF2 (1M iterations) would cost ~1 s of CPU per password grant.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("DOT_ACCESS_TTL", "2")),
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "SCOPES": {"read": "Read access", "write": "Write access"},
    "DEFAULT_SCOPES": ["read", "write"],
    # Bearer tokens in the query string are rejected (header only), as RFC 9700 asks.
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    # The password grant must stay allowed (False = allowed, with a DOT warning).
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "oauth2_provider": {
            "handlers": ["console"],
            "level": os.environ.get("DOT_LOG_LEVEL", "ERROR"),
            "propagate": False,
        },
    },
}
