"""Django settings. Everything that differs between machines comes from the environment
(see the configuration table in the README); defaults are safe for a single-machine demo."""
import os
from pathlib import Path

import dj_database_url

from textpilot.logconfig import build_logging_config

BASE_DIR = Path(__file__).resolve().parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("TEXTPILOT_DATA_DIR", BASE_DIR.parent / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("TEXTPILOT_DEBUG", False)


def _key_from_env_or_file(env_name: str, file_name: str) -> str:
    """The key in `env_name`; otherwise a random key kept in the data dir (never in the repo)."""
    key = os.environ.get(env_name)
    if key:
        return key
    key_file = DATA_DIR / file_name
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _key_from_env_or_file("TEXTPILOT_SECRET_KEY", "secret_key")


# The key of erased numbers' keyed hashes (profiles.privacy): its own key, not SECRET_KEY, so
# rotating the secret keeps erased evidence matchable; bump the version when you replace it.
ERASURE_KEY = _key_from_env_or_file("TEXTPILOT_ERASURE_KEY", "erasure_key")
ERASURE_KEY_VERSION = os.environ.get("TEXTPILOT_ERASURE_KEY_VERSION", "v1")
ALLOWED_HOSTS = env_list("TEXTPILOT_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("TEXTPILOT_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    # django-ninja as an app only for its templates and static files: the API docs page then
    # serves the Swagger UI that ships in the pinned package (ninja/static/ninja/), not a CDN's.
    "ninja",
    "huey.contrib.djhuey",
    "textpilot.stores",
    "textpilot.profiles",
    "textpilot.events",
    "textpilot.commerce",
    "textpilot.integrations.shopify",
    "textpilot.integrations.imports",
    "textpilot.segments",
    "textpilot.messaging",
    "textpilot.delivery",
    "textpilot.campaigns",
    "textpilot.flows",
    "textpilot.growth",
    "textpilot.analytics",
    "textpilot.web",
    "textpilot.demo",
]

# The dashboard_middleware ones are Django's (and django-htmx's), skipped for /api/ requests,
# which authenticate by key and use no session, user, messages or CSRF cookie.
MIDDLEWARE = [
    "textpilot.web.middleware.RequestLogMiddleware",  # first: its duration covers the whole stack
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "textpilot.web.dashboard_middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "textpilot.web.dashboard_middleware.CsrfViewMiddleware",
    "textpilot.web.dashboard_middleware.AuthenticationMiddleware",
    "textpilot.web.dashboard_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "textpilot.web.dashboard_middleware.HtmxMiddleware",
    "textpilot.stores.middleware.CurrentStoreMiddleware",
]

ROOT_URLCONF = "textpilot.urls"
WSGI_APPLICATION = "textpilot.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "textpilot.web.context.dashboard_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DEFAULT_SQLITE_PATH = DATA_DIR / "textpilot.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DEFAULT_SQLITE_PATH}"),
        conn_max_age=int(os.environ.get("TEXTPILOT_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE avoids the
    # "database is locked" upgrade deadlock between two writers.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work (Huey) -------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
HUEY_IMMEDIATE = env_bool("TEXTPILOT_HUEY_IMMEDIATE", False)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": os.environ.get("TEXTPILOT_QUEUE_NAME", "textpilot"),
        "url": REDIS_URL,
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": int(os.environ.get("TEXTPILOT_WORKER_THREADS", "4")), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": os.environ.get("TEXTPILOT_QUEUE_NAME", "textpilot"),
        "filename": str(DATA_DIR / "queue.sqlite3"),
        "immediate": HUEY_IMMEDIATE,
        "consumer": {"workers": int(os.environ.get("TEXTPILOT_WORKER_THREADS", "4")), "worker_type": "thread"},
    }

# --- Auth / sessions ------------------------------------------------------------------
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("TEXTPILOT_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Request limits ---------------------------------------------------------------------
# Bodies above this are refused with 413 before any parsing happens.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("TEXTPILOT_MAX_BODY_BYTES", str(1024 * 1024)))
# Public storefront intake (/api/public/v1/): requests per minute per client IP, and the
# proxies whose X-Forwarded-For is believed (IPs or networks).
PUBLIC_RATE_PER_MIN = int(os.environ.get("TEXTPILOT_PUBLIC_RATE_PER_MIN", "120"))
TRUSTED_PROXIES = env_list("TEXTPILOT_TRUSTED_PROXIES", "")
# An API key checked in the database is trusted by that process for this many seconds: a
# revoke (or store change) made in another process takes effect within it (stores/api_key_cache.py).
API_KEY_CACHE_SECONDS = float(os.environ.get("TEXTPILOT_API_KEY_CACHE_SECONDS", "10"))
# Public base URL of this install (https://sms.example.com): providers post receipts and
# inbound texts there. Empty: no per-message status callback URL is sent.
TEXTPILOT_PUBLIC_URL = os.environ.get("TEXTPILOT_PUBLIC_URL", "")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from it after `collectstatic`
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

LOG_LEVEL = os.environ.get("TEXTPILOT_LOG_LEVEL", "INFO")
LOG_FORMAT = os.environ.get("TEXTPILOT_LOG_FORMAT", "console")  # "json" for machines
LOGGING = build_logging_config(LOG_LEVEL, LOG_FORMAT)
