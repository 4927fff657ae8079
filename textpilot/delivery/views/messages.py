"""The messages log (filters, counts per status, pages) and one message's detail."""
from django.core.paginator import Paginator
from django.http import Http404
from django.utils import timezone
from django.views.decorators.http import require_GET

from textpilot.common import queue_status
from textpilot.common.errors import NotFound
from textpilot.delivery import queries, sendability, service
from textpilot.delivery.claims import MAX_ATTEMPTS
from textpilot.delivery.forms import MessageFilterForm
from textpilot.delivery.models import Status
from textpilot.delivery.views.common import is_htmx_partial
from textpilot.common.dashboard import dashboard_view, page

NAV = "messages"
PER_PAGE = 50


@require_GET
@dashboard_view
def message_list(request):
    form = MessageFilterForm(request.GET)
    filters = form.filters()
    messages_found = service.list_messages(request.store, **filters)
    # Counts per status under the other filters, so each count is also a link that narrows the list.
    others = {name: value for name, value in filters.items() if name != "status"}
    counts = queries.status_counts(service.list_messages(request.store, **others))
    paginator = Paginator(messages_found, PER_PAGE)
    message_page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    without_status = query.copy()
    without_status.pop("status", None)
    template = "delivery/_message_results.html" if is_htmx_partial(request, "message-results") else "delivery/messages.html"
    return page(
        request, template, NAV, form=form, filters=filters, message_page=message_page, paginator=paginator,
        status_counts=[(status, label, counts[status]) for status, label in Status.choices],
        total=sum(counts.values()), query=query.urlencode(), query_without_status=without_status.urlencode(),
    )


@require_GET
@dashboard_view
def message_detail(request, message_id: int):
    try:
        message = service.get_message(request.store, message_id)
    except NotFound:
        raise Http404("no such message in this store") from None
    timeline, attempts = queries.message_history(request.store, message)
    # A queued text the gate held back says until when (in the recipient's zones) and by which rule.
    held_until = sendability.held_until(message)
    # Otherwise a queued text says when it goes: scheduled, retrying, or due (and whether a dispatcher runs).
    waiting = sendability.waiting(message)
    dispatcher_alive = queue_status.describe().get("dispatcher_alive") if waiting and waiting.state == "due" else None
    return page(request, "delivery/message_detail.html", NAV, message=message, timeline=timeline, attempts=attempts,
                held_until=held_until, held_local=sendability.held_until_local(request.store, message),
                held_passed=held_until is not None and held_until <= timezone.now(),
                waiting=waiting, dispatcher_alive=dispatcher_alive, max_attempts=MAX_ATTEMPTS)
