"""Settings of the bare ingest app: no middleware, no apps, no auth, no logging config.

The database connection is kept the way textpilot keeps it (persistent, with health checks)
so the comparison measures the application's work, not connection setup."""
import os

import dj_database_url

SECRET_KEY = "bare-ingest-benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bare_ingest.urls"
USE_TZ = True
DATABASES = {
    "default": dj_database_url.parse(
        os.environ["DATABASE_URL"],
        conn_max_age=int(os.environ.get("TEXTPILOT_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
