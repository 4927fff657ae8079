"""Middleware only the dashboard needs, skipped for the JSON APIs under /api/.

The APIs authenticate with a bearer key (or, for the storefront intake, a public key in the
body): they never read a session, a logged-in user, flash messages or htmx headers, and with
no cookie authentication there is nothing for CSRF protection to protect. Running these five
for every API request cost ~0.4 ms of CPU, a fifth of a single tracked event
(bench/ingest_wrk_bench.py). Each class here is the original, passing API requests straight
through; dashboard and admin requests get exactly the original behaviour.
"""
from django.contrib.auth.middleware import AuthenticationMiddleware as _Authentication
from django.contrib.messages.middleware import MessageMiddleware as _Messages
from django.contrib.sessions.middleware import SessionMiddleware as _Sessions
from django.middleware.csrf import CsrfViewMiddleware as _Csrf
from django_htmx.middleware import HtmxMiddleware as _Htmx

API_PREFIX = "/api/"


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _dashboard_only(middleware: type) -> type:
    class DashboardOnly(middleware):
        def __call__(self, request):
            if is_api_request(request):
                return self.get_response(request)
            return super().__call__(request)

        if hasattr(middleware, "process_view"):  # called by the handler, not through __call__
            def process_view(self, request, *args, **kwargs):
                if is_api_request(request):
                    return None
                return super().process_view(request, *args, **kwargs)

    DashboardOnly.__name__ = DashboardOnly.__qualname__ = middleware.__name__
    DashboardOnly.__doc__ = f"{middleware.__module__}.{middleware.__name__}, not run for {API_PREFIX} requests."
    return DashboardOnly


SessionMiddleware = _dashboard_only(_Sessions)
CsrfViewMiddleware = _dashboard_only(_Csrf)
AuthenticationMiddleware = _dashboard_only(_Authentication)
MessageMiddleware = _dashboard_only(_Messages)
HtmxMiddleware = _dashboard_only(_Htmx)
