"""The provider webhooks: one view per kind, the same for every provider (urls.py mounts them).

  /webhooks/<provider>/<store slug>/receipt   delivery receipts; /status (the status callback
                                              URL the dispatcher gives with every text) and
                                              /dlr (Kannel's name) are the same URL
  /webhooks/<provider>/<store slug>/inbound   texts customers send us

Every call goes the same way: the store and its senders of that provider are looked up once;
each sender's provider is asked to verify the call (`verify_webhook`) until one does; that
provider reads the call into Receipt / InboundText records; `delivery.receiving` writes them
in one transaction; the provider may shape the answer (Twilio's TwiML, Kannel's empty body).
The providers only read requests: store lookup, auth order, transactions and error answers
live here, once.

Answers (errors as JSON {"detail": …}):
  404  unknown provider, or one that takes no such webhook; unknown store, or a store without
       a sender of that provider; a receipt naming one of our message ids the store doesn't have
  405  a method the provider never calls with
  403  the call isn't verified (logged as webhook.refused with the provider's reason)
  400  a request that can't be read, naming the parameter
  200  the provider's answer, else {"message_id", "status"} for a receipt and {"message_id"}
       for a text ({"results": […]} when a call carried several)
Nothing is written unless the call is verified and every record in it can be written.
"""
from __future__ import annotations

import structlog
from django.http import HttpResponseNotAllowed, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from textpilot.common.errors import DomainError, NotFound
from textpilot.delivery import receiving, service
from textpilot.delivery.providers.base import (
    INBOUND, RECEIPT, Provider, ProviderConfigError, WebhookMalformed, WebhookRefused, provider_class,
)
from textpilot.stores import service as stores
from textpilot.stores.models import Store

log = structlog.get_logger(__name__)


@csrf_exempt
def receipt_webhook(request, provider: str, store_slug: str):
    return _handle(request, provider, store_slug, RECEIPT)


@csrf_exempt
def inbound_webhook(request, provider: str, store_slug: str):
    return _handle(request, provider, store_slug, INBOUND)


class _Answer(Exception):
    """Ends a webhook early with an error answer."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def _handle(request, provider_name: str, store_slug: str, kind: str):
    try:
        cls = provider_class(provider_name)
    except ProviderConfigError:
        return _error(404, f"no provider named {provider_name!r}")
    if kind not in cls.webhook_kinds:
        return _error(404, f"{cls.label} takes no {kind} webhooks")
    if request.method not in cls.webhook_methods:
        return HttpResponseNotAllowed(cls.webhook_methods)
    context = {"provider": cls.name, "kind": kind, "store": store_slug}
    try:
        _read_form(request)
        store, provider = _verified(request, cls, store_slug, kind, context)
        try:
            records = provider.parse_receipts(request) if kind == RECEIPT else provider.parse_inbound(request, store.country)
        except WebhookMalformed as exc:
            raise _Answer(400, exc.detail) from None
        messages = _write(store, cls.name, kind, records)
    except _Answer as answer:
        if answer.status == 400:
            log.info("webhook.bad_request", **context, detail=answer.detail)
        return _error(answer.status, answer.detail)
    return provider.webhook_response(kind, messages) or _default_answer(kind, messages)


def _read_form(request) -> None:
    """Parse a POST body now, so a broken one is a 400 that says so (verification reads it)."""
    if request.method == "POST":
        try:
            request.POST  # noqa: B018 (reading it parses the body)
        except MultiPartParserError as exc:
            raise _Answer(400, f"the request body can't be read as a form: {exc}") from None


def _verified(request, cls: type[Provider], store_slug: str, kind: str, context: dict) -> tuple[Store, Provider]:
    """The store, and the provider of the first of its senders that verifies the call. A
    store may have several senders of one provider (two Twilio accounts, Kannel gateways
    with their own tokens): any of them may have made it."""
    try:
        store = stores.get_store(store_slug)
    except NotFound:
        raise _Answer(404, "no such store") from None
    senders = list(service.list_senders(store).filter(provider=cls.name).order_by("id"))
    if not senders:
        raise _Answer(404, f"this store has no {cls.label} sender")
    refusal: WebhookRefused | None = None
    for sender in senders:
        provider = service.provider_for(sender)
        try:
            provider.verify_webhook(request, kind)
            return store, provider
        except WebhookRefused as exc:
            # Report what was wrong with the sender whose credentials matched, if one did.
            if refusal is None or (exc.authenticated and not refusal.authenticated):
                refusal = exc
    log.warning("webhook.refused", **context, detail=refusal.detail, senders=len(senders),
                remote_addr=request.META.get("REMOTE_ADDR", ""), **refusal.log_fields)
    raise _Answer(refusal.status, refusal.detail)


def _write(store: Store, provider: str, kind: str, records: list) -> list:
    """One transaction (delivery.receiving opens it): every record of the call, or none."""
    try:
        if kind == INBOUND:
            return receiving.record_inbound(store, provider, records)
        return receiving.record_receipts(store, provider, records, require_known_ids=True)
    except DomainError as exc:
        detail = f"{exc.field}: {exc.message}" if exc.field and not isinstance(exc, NotFound) else exc.message
        raise _Answer(404 if isinstance(exc, NotFound) else 400, detail) from None


def _default_answer(kind: str, messages: list) -> JsonResponse:
    if kind == RECEIPT:
        items = [{"message_id": getattr(m, "pk", None), "status": getattr(m, "status", None)} for m in messages]
    else:
        items = [{"message_id": m.pk} for m in messages]
    return JsonResponse(items[0] if len(items) == 1 else {"results": items})


def _error(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)
