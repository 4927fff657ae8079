"""Senders: the numbers the store texts from. Everyone sees them; owners add, switch off,
choose the default and send test messages. Credentials are write-only: after saving they
stay encrypted in the database and no page shows them again."""
from functools import partial

import structlog
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from textpilot.common.errors import DomainError, NotFound
from textpilot.delivery import service
from textpilot.delivery.forms import SenderForm, TestSendForm
from textpilot.delivery.models import Kind, Origin
from textpilot.common.dashboard import dashboard_view, is_owner, keep_refused_form, page, require_owner, take_refused_form

log = structlog.get_logger(__name__)

NAV = "senders"


def _sender_or_404(request, sender_id: int):
    try:
        return service.get_sender(request.store, sender_id)
    except NotFound:
        raise Http404("no such sender in this store") from None


def _test_form_id(sender_id: int) -> str:
    return f"test-{sender_id}-%s"


def _page(request, form=None, status=200):
    senders = list(service.list_senders(request.store).order_by("-is_default", "-active", "name"))
    # A refused test (kept by sender_test before its redirect) is shown again in its row.
    refused = take_refused_form(request, TEST_FORM)
    test_forms = {refused["sender"]: TestSendForm.refused_before(refused, auto_id=_test_form_id(refused["sender"]))} if refused else {}
    rows = [(sender, test_forms.get(sender.pk) or TestSendForm(auto_id=_test_form_id(sender.pk))) for sender in senders]
    default = next((sender for sender in senders if sender.is_default), None)
    return page(request, "delivery/senders.html", NAV, status=status, rows=rows, can_edit=is_owner(request),
                form=form or SenderForm(provider=request.GET.get("provider")),
                default=default, sending_through=service.default_sender(request.store))


@dashboard_view
def senders(request):
    if request.method != "POST":
        return _page(request)
    require_owner(request)
    form = SenderForm(request.POST)
    if not form.is_valid():
        arguments = form.sender_arguments()
        arguments.pop("is_default")
        form.check_rest(partial(service.check_sender, request.store), arguments)  # the service's rules too, at once
    else:
        try:
            sender = service.create_sender(request.store, **form.sender_arguments())
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            log.info("sender.created", store=request.store.slug, sender_id=sender.pk, provider=sender.provider)
            messages.success(request, f"Sender “{sender.name}” added. Its credentials are stored encrypted and won't be shown again.")
            return redirect("delivery:senders")
    form.mark_invalid()
    return _page(request, form=form, status=422)


@require_GET
@dashboard_view
def sender_fields(request):
    """The provider's own fields, swapped in by htmx when another provider is chosen."""
    return page(request, "delivery/_sender_provider_fields.html", NAV, form=SenderForm(provider=request.GET.get("provider")))


@require_POST
@dashboard_view
def sender_active(request, sender_id: int):
    require_owner(request)
    sender = _sender_or_404(request, sender_id)
    active = request.POST.get("active") == "1"
    service.set_sender_active(request.store, sender.pk, active)
    messages.success(request, f"Sender “{sender.name}” {'activated' if active else 'deactivated: it sends nothing until activated again'}.")
    return redirect("delivery:senders")


@require_POST
@dashboard_view
def sender_default(request, sender_id: int):
    require_owner(request)
    sender = _sender_or_404(request, sender_id)
    try:
        service.make_default_sender(request.store, sender.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{sender.name}” is now the default sender.")
    return redirect("delivery:senders")


TEST_FORM = "sender_test"


@require_POST
@dashboard_view
def sender_test(request, sender_id: int):
    """Queue a test text through this sender and point at its message page. Either way the
    answer is a redirect to the senders page (a refused number is shown in its row there)."""
    require_owner(request)
    sender = _sender_or_404(request, sender_id)
    form = TestSendForm(request.POST, auto_id=_test_form_id(sender.pk))
    if form.is_valid() and not form.cleaned_data["to"].strip():
        form.add_error("to", "enter the phone number to send the test to")
    if form.is_valid():
        try:
            message = service.send_message(request.store, body=service.sender_test_text(request.store, sender), render=False,
                                           to=form.cleaned_data["to"], kind=Kind.TRANSACTIONAL, origin=Origin.TEST, sender=sender)
        except DomainError as exc:
            form.add_error("to", form.worded(exc, "to"))  # the only input is the number: every refusal is about it
        else:
            url = reverse("delivery:message", args=[message.pk])
            messages.success(request, format_html('Test message queued to {}. <a href="{}">Follow it on its message page</a>.',
                                                  message.to_phone, url))
            return redirect("delivery:senders")
    keep_refused_form(request, TEST_FORM, form, sender=sender.pk)
    return redirect(reverse("delivery:senders") + f"#sender-{sender.pk}")
