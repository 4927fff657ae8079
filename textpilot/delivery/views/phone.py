"""The phone simulator: the customer's side of the simulated carrier.

Pick a number, see what the sim carrier delivered to it, and type a text as the customer:
it arrives through `receiving.record_inbound` exactly like a real one, so STOP, START and HELP work.
Available when the store has an active `sim` sender."""
import structlog
from django.views.decorators.http import require_GET, require_POST

from textpilot.common.errors import DomainError, FieldError
from textpilot.delivery import queries, receiving
from textpilot.delivery.forms import PhoneForm
from textpilot.delivery.providers.base import InboundText
from textpilot.common.phones import normalize_phone
from textpilot.common.dashboard import dashboard_view, page

log = structlog.get_logger(__name__)

NAV = "phone"
POLL_SECONDS = 2


def _number(request, raw: str) -> str:
    return normalize_phone(raw, default_region=request.store.country, field="number")


def _context(request, number: str, form=None, number_error: str | None = None, typed: str = "") -> dict:
    store = request.store
    return {
        "number": number, "typed": typed or number, "number_error": number_error, "form": form or PhoneForm(initial={"number": number}),
        "thread": queries.phone_thread(store, number) if number else [],
        "waiting": queries.phone_waiting(store, number) if number else 0,
        "poll_seconds": POLL_SECONDS,
    }


@require_GET
@dashboard_view
def phone(request):
    sender = queries.sim_sender(request.store)
    if sender is None:
        return page(request, "delivery/phone_unavailable.html", NAV)
    raw = request.GET.get("number", "").strip()
    number, error = "", None
    if raw:
        try:
            number = _number(request, raw)
        except FieldError as exc:
            error = exc.message
    return page(request, "delivery/phone.html", NAV, status=422 if error else 200, sender=sender,
                numbers=queries.phone_numbers(request.store), **_context(request, number, number_error=error, typed=raw))


@require_GET
@dashboard_view
def phone_thread(request):
    """The handset screen alone, polled every few seconds."""
    try:
        number = _number(request, request.GET.get("number", ""))
    except FieldError as exc:
        return page(request, "delivery/_phone_screen.html", NAV, status=422, **_context(request, "", number_error=exc.message))
    return page(request, "delivery/_phone_screen.html", NAV, **_context(request, number))


@require_POST
@dashboard_view
def phone_send(request):
    """A text typed on the simulated phone, delivered to the store as an inbound text."""
    sender = queries.sim_sender(request.store)
    if sender is None:
        return page(request, "delivery/phone_unavailable.html", NAV, status=409)
    form = PhoneForm(request.POST)
    number = ""
    if form.is_valid():
        try:
            number = _number(request, form.cleaned_data["number"])
        except FieldError as exc:
            form.add_domain_error(exc)
        if not form.cleaned_data["body"].strip():
            form.add_error("body", "type a text to send")
    if form.is_valid():
        try:
            # The simulated carrier's inbound, written the way every provider's is.
            receiving.record_inbound(request.store, queries.SIM, [
                InboundText(from_phone=number, to_phone=sender.from_number, body=form.cleaned_data["body"])])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            log.info("phone.sent_as_customer", store=request.store.slug, user_id=request.user.pk)
            form = PhoneForm(initial={"number": number})
    status = 200
    if form.errors:
        form.mark_invalid()
        status = 422
    partial = bool(getattr(request, "htmx", None))
    context = _context(request, number, form, typed=request.POST.get("number", ""))
    if partial:
        return page(request, "delivery/_phone.html", NAV, status=status, sender=sender, **context)
    return page(request, "delivery/phone.html", NAV, status=status, sender=sender,
                numbers=queries.phone_numbers(request.store), **context)
