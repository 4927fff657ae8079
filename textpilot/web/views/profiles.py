"""Profiles: searchable list (htmx live search, plain GET without JS), a detail page with the
staff unsubscribe / resubscribe form, and the consent proof document."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from textpilot.analytics import service as analytics
from textpilot.commerce import stats as commerce_stats
from textpilot.common.errors import NotFound
from textpilot.delivery import sendability
from textpilot.delivery import service as delivery_service
from textpilot.events import service as events_service
from textpilot.profiles import privacy as profile_privacy
from textpilot.profiles import service as profiles_service
from textpilot.profiles.consent_proof import consent_proof_response
from textpilot.profiles.staff_consent_views import StaffConsentForm
from textpilot.profiles import staff_consent_views as staff_consent
from textpilot.common.dashboard import dashboard_view, is_owner, page, require_owner

PER_PAGE = 25
DETAIL_EVENTS = 25
DETAIL_ORDERS = 20
DETAIL_MESSAGES = 20


@dashboard_view
def profile_list(request):
    query = request.GET.get("q", "").strip()[:100]
    paginator = Paginator(profiles_service.search_profiles(request.store, query), PER_PAGE)
    profiles_page = paginator.get_page(request.GET.get("page"))
    # Each row with its customer stats: one query for the whole page.
    stats = commerce_stats.for_profiles(request.store, [profile.pk for profile in profiles_page.object_list])
    rows = [(profile, stats[profile.pk]) for profile in profiles_page.object_list]
    htmx = getattr(request, "htmx", None)
    # A history restore asks for the whole page even though it comes from htmx.
    partial = bool(htmx) and not htmx.history_restore_request and htmx.target == "profile-results"
    template = "web/profiles/_results.html" if partial else "web/profiles/list.html"
    return page(request, template, "profiles", query=query, profiles_page=profiles_page, rows=rows, paginator=paginator)


def _profile_or_404(request, profile_id: int):
    try:
        return profiles_service.get_profile(request.store, profile_id)
    except NotFound:
        raise Http404("no such profile in this store") from None


@dashboard_view
def profile_detail(request, profile_id: int):
    return _detail_page(request, _profile_or_404(request, profile_id))


def _detail_page(request, profile, consent_form: StaffConsentForm | None = None, status: int = 200):
    store = request.store
    return page(
        request, "web/profiles/detail.html", "profiles", status=status,
        profile=profile,
        stats=commerce_stats.for_profile(store, profile.pk),
        consent_events=list(profiles_service.consent_trail(store, profile)),
        events=list(events_service.events_of(store, profile)[:DETAIL_EVENTS]),
        orders=list(analytics.orders_of_profile(store, profile, DETAIL_ORDERS)),
        messages_of_profile=list(delivery_service.conversation(store, profile).order_by("-created_at", "-id")[:DETAIL_MESSAGES]),
        sendability=sendability.profile_sendability(store, profile) if profile.phone else None,
        can_erase=is_owner(request) and profile.erased_at is None,
        can_change_consent=request.store_role in staff_consent.ROLES and bool(profile.phone),
        consent_form=consent_form or StaffConsentForm.for_profile(profile),
        consent_action=reverse("web:profile_sms_consent", args=[profile.pk]),
    )


@require_POST
@dashboard_view
def profile_sms_consent(request, profile_id: int):
    """Staff unsubscribe or resubscribe the customer, with a reason (owners and staff)."""
    profile = _profile_or_404(request, profile_id)
    form, recorded = staff_consent.handle(request, profile)
    if recorded:
        return redirect("web:profile", profile_id=profile.pk)
    return _detail_page(request, profile, consent_form=form, status=422)


@require_GET
@dashboard_view
def profile_consent_proof(request, profile_id: int):
    """The consent proof document (the same as the API's), to print or save as PDF."""
    return consent_proof_response(request.store, _profile_or_404(request, profile_id))


@dashboard_view
def profile_export(request, profile_id: int):
    """Privacy request: everything about the person as a JSON download."""
    profile = _profile_or_404(request, profile_id)
    response = JsonResponse(profile_privacy.export_profile(request.store, profile), encoder=DjangoJSONEncoder,
                            json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="profile-{profile.pk}-export.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@dashboard_view
def profile_erase(request, profile_id: int):
    """Privacy request: erase personal data (owners only; consent evidence is kept, hashed)."""
    require_owner(request)
    profile = _profile_or_404(request, profile_id)
    profile_privacy.erase_profile(request.store, profile)
    messages.success(request, "Personal data erased. Orders and events stay as anonymous totals; consent evidence is kept with the number hashed.")
    return redirect("web:profile", profile_id=profile.pk)
