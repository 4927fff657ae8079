"""The inbox: customers who texted the store, a conversation per customer, and staff replies.

A reply is an ordinary transactional text (origin "inbox"): it goes through the same gate,
so a customer who sent STOP gets nothing, whatever the staff member types."""
import structlog
from django.core.paginator import Paginator
from django.views.decorators.http import require_GET, require_POST

from textpilot.common.errors import DomainError
from textpilot.delivery import queries, service
from textpilot.delivery.forms import ReplyForm
from textpilot.delivery.models import Direction, Kind, Origin
from textpilot.delivery.views.common import profile_or_404
from textpilot.profiles.models import ConsentStatus
from textpilot.web.views.common import dashboard_view, page

log = structlog.get_logger(__name__)

NAV = "inbox"
PER_PAGE = 30


@require_GET
@dashboard_view
def inbox(request):
    paginator = Paginator(queries.inbox_threads(request.store), PER_PAGE)
    thread_page = paginator.get_page(request.GET.get("page"))
    latest = queries.last_messages(request.store, [row["profile_id"] for row in thread_page.object_list])
    threads = [
        {"message": latest[row["profile_id"]], "awaiting_reply": latest[row["profile_id"]].direction == Direction.INBOUND}
        for row in thread_page.object_list if row["profile_id"] in latest
    ]
    return page(request, "delivery/inbox.html", NAV, threads=threads, thread_page=thread_page, paginator=paginator)


def _thread_context(request, profile, form=None) -> dict:
    return {
        "profile": profile, "thread": queries.recent_conversation(request.store, profile.pk),
        "form": form or ReplyForm(), "opted_out": profile.sms_status == ConsentStatus.UNSUBSCRIBED,
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
