"""Helpers shared by the delivery pages."""
from django.http import Http404

from textpilot.common.errors import NotFound
from textpilot.profiles import service as profiles_service


def is_htmx_partial(request, target: str) -> bool:
    """True when htmx asks for the fragment `target` (a history restore wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


def profile_or_404(request, profile_id: int):
    try:
        return profiles_service.get_profile(request.store, profile_id)
    except NotFound:
        raise Http404("no such profile in this store") from None
