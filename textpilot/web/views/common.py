"""Shared plumbing of dashboard views: the store guard, the role, rendering in store time."""
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from textpilot.analytics.service import store_tz
from textpilot.stores import service as stores_service
from textpilot.stores.models import Membership


def dashboard_view(view):
    """Login required; a user without a store gets the "no store yet" page; the page is
    rendered with the store's time zone active, so every date shows in store time."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        store = getattr(request, "store", None)
        if store is None:
            return render(request, "web/no_store.html", {"active_nav": None})
        request.store_role = stores_service.role_of(request.user, store)
        with timezone.override(store_tz(store)):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        return response

    return wrapper


def is_owner(request) -> bool:
    return getattr(request, "store_role", None) == Membership.Role.OWNER


def require_owner(request) -> None:
    if not is_owner(request):
        raise PermissionDenied("only an owner of this store can do this")


def page(request, template: str, active_nav: str | None, status: int = 200, **context):
    context.setdefault("store", request.store)
    response = render(request, template, {"active_nav": active_nav, **context}, status=status)
    # Pages that answer htmx with a fragment must not be cached as the full page (or vice versa).
    patch_vary_headers(response, ("HX-Request",))
    return response
