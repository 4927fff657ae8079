"""The inbox: customers who texted the store, a conversation per customer, and staff replies.

A reply is an ordinary transactional text (origin "inbox"): it goes through the same gate,
so a customer who sent STOP gets nothing, whatever the staff member types.

Replies the opt-out matcher could only flag (`review_flag="possible_opt_out"`) carry a badge,
have a filter of their own (`?filter=possible_opt_out`) and a one-click unsubscribe next to
them; the conversation page also has the staff unsubscribe / resubscribe form."""
import structlog
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from textpilot.common.errors import DomainError
from textpilot.delivery import inbound, queries, service
from textpilot.delivery.forms import ReplyForm
from textpilot.delivery.models import Direction, Kind, Origin
from textpilot.delivery.optout_language import POSSIBLE_OPT_OUT
from textpilot.delivery.views.common import profile_or_404
from textpilot.profiles.models import ConsentStatus
from textpilot.profiles.staff_consent_views import StaffConsentForm
from textpilot.profiles import staff_consent_views as staff_consent
from textpilot.common.dashboard import dashboard_view, page

log = structlog.get_logger(__name__)

NAV = "inbox"
PER_PAGE = 30


@require_GET
@dashboard_view
def inbox(request):
    store = request.store
    only_flagged = request.GET.get("filter") == POSSIBLE_OPT_OUT
    paginator = Paginator(queries.inbox_threads(store, possible_opt_outs_only=only_flagged), PER_PAGE)
    thread_page = paginator.get_page(request.GET.get("page"))
    rows = list(thread_page.object_list)
    latest = queries.last_messages(store, [row["profile_id"] for row in rows])
    flagged = queries.last_flagged(store, [row["profile_id"] for row in rows if row["flagged"]])
    threads = [
        {"message": latest[row["profile_id"]], "awaiting_reply": latest[row["profile_id"]].direction == Direction.INBOUND,
         "flagged": flagged.get(row["profile_id"])}
        for row in rows if row["profile_id"] in latest
    ]
    return page(
        request, "delivery/inbox.html", NAV, threads=threads, thread_page=thread_page, paginator=paginator,
        only_flagged=only_flagged, flag=POSSIBLE_OPT_OUT,
        flagged_count=paginator.count if only_flagged else queries.inbox_threads(store, possible_opt_outs_only=True).count(),
        can_change_consent=request.store_role in staff_consent.ROLES,
    )


def _thread_context(request, profile, form=None, consent_form=None) -> dict:
    return {
        "profile": profile, "thread": queries.recent_conversation(request.store, profile.pk),
        "form": form or ReplyForm(), "opted_out": profile.sms_status == ConsentStatus.UNSUBSCRIBED,
        "can_change_consent": request.store_role in staff_consent.ROLES and bool(profile.phone),
        "consent_form": consent_form or StaffConsentForm.for_profile(profile),
        "consent_action": reverse("delivery:conversation_sms_consent", args=[profile.pk]),
    }


@require_GET
@dashboard_view
def conversation(request, profile_id: int):
    profile = profile_or_404(request, profile_id)
    return page(request, "delivery/conversation.html", NAV, **_thread_context(request, profile))


@require_GET
@dashboard_view
def conversation_thread(request, profile_id: int):
    """The thread alone: htmx refreshes it so new texts and receipts show up."""
    profile = profile_or_404(request, profile_id)
    return page(request, "delivery/_conversation_thread.html", NAV, **_thread_context(request, profile))


@require_POST
@dashboard_view
def conversation_reply(request, profile_id: int):
    profile = profile_or_404(request, profile_id)
    form = ReplyForm(request.POST)
    status = 200
    if form.is_valid() and not form.cleaned_data["body"].strip():
        form.add_error("body", "the reply is empty")
    if form.is_valid():
        try:
            # Staff type plain text: braces in it are words, not merge tags.
            service.send_message(request.store, body=form.cleaned_data["body"], profile=profile, kind=Kind.TRANSACTIONAL,
                                 origin=Origin.INBOX, render=False)
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            log.info("inbox.reply", store=request.store.slug, profile_id=profile.pk, user_id=request.user.pk)
            form = ReplyForm()
    if form.errors:
        form.mark_invalid()
        status = 422
    template = "delivery/_conversation_thread.html" if getattr(request, "htmx", None) else "delivery/conversation.html"
    return page(request, template, NAV, status=status, **_thread_context(request, profile, form))


@require_POST
@dashboard_view
def conversation_sms_consent(request, profile_id: int):
    """Staff unsubscribe / resubscribe from the inbox (the conversation's form, or the one-click
    unsubscribe next to a possible opt-out). Back to `next` (a page of this site) when done."""
    profile = profile_or_404(request, profile_id)
    form, recorded = staff_consent.handle(request, profile)
    if recorded:
        if form.cleaned_data["status"] == ConsentStatus.UNSUBSCRIBED:  # what was flagged is answered now
            for flagged in queries.flagged_replies(request.store, profile.pk):
                inbound.review_flagged_reply(request.store, flagged, inbound.REVIEWED_OPT_OUT, reviewer=request.user.email)
        return _back(request, profile)
    return page(request, "delivery/conversation.html", NAV, status=422, **_thread_context(request, profile, consent_form=form))


@require_POST
@dashboard_view
def reply_not_opt_out(request, message_id: int):
    """Staff read a reply flagged as a possible opt-out and decided it is not one."""
    staff_consent.require_member(request)
    try:
        message = inbound.review_flagged_reply(request.store, message_id, inbound.REVIEWED_NOT_OPT_OUT,
                                               reviewer=request.user.email)
    except DomainError:
        raise Http404("no such text in this store") from None
    messages.success(request, "Marked as not an opt-out; the customer stays subscribed.")
    return _back(request, profile_or_404(request, message.profile_id))


def _back(request, profile):
    """To `next` (a page of this site), else the customer's conversation."""
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = reverse("delivery:conversation", args=[profile.pk])
    return redirect(next_url)
