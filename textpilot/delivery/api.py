"""Sending texts through the API: queue one (it returns at once), read it, list them; and ask
whether a marketing text could reach a profile now (and if not, why and until when)."""
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.pagination import paginate

from textpilot.common.errors import FieldError
from textpilot.common.inputs import RowId
from textpilot.common.pagination import BoundedLimitOffset
from textpilot.delivery import sendability, service
from textpilot.delivery.schemas import MessageFilter, MessageOut, SendabilityOut, SendIn, SenderOut
from textpilot.profiles import service as profiles

router = Router(tags=["messages"])


@router.post("/messages", response={201: MessageOut, 200: MessageOut},
             summary="Queue a text (201; 200 when the idempotency key was seen before)")
def send(request, payload: SendIn):
    store = request.store
    if (payload.to is None) == (payload.profile_id is None):
        raise FieldError("give exactly one of `to` and `profile_id`", field="to")
    profile = profiles.get_profile(store, payload.profile_id) if payload.profile_id is not None else None
    sender = service.get_sender(store, payload.sender_id) if payload.sender_id is not None else None
    origin_key = f"api:{payload.idempotency_key}" if payload.idempotency_key else None
    existing = service.message_for_origin_key(store, origin_key) if origin_key else None
    if existing is not None:
        return Status(200, existing)
    send_after = payload.send_after
    if send_after is not None and timezone.is_naive(send_after):
        send_after = timezone.make_aware(send_after, timezone.utc)
    message = service.send_message(
        store, body=payload.body, to=payload.to, profile=profile, kind=payload.kind, origin="api",
        origin_key=origin_key,
        media_urls=payload.media_urls, sender=sender, context=payload.context, send_after=send_after,
    )
    return Status(201, message)


@router.get("/messages", response=list[MessageOut], summary="Messages of the store, newest first")
@paginate(BoundedLimitOffset)
def list_messages(request, filters: Query[MessageFilter]):
    return service.list_messages(request.store, **filters.dict())


@router.get("/messages/{message_id}", response=MessageOut, summary="Read a message and its status")
def get_message(request, message_id: RowId):
    return service.get_message(request.store, message_id)


@router.get("/senders", response=list[SenderOut], summary="The store's senders (numbers at providers)")
def list_senders(request):
    return list(service.list_senders(request.store))


@router.get("/profiles/{profile_id}/sendability", response=SendabilityOut,
            summary="Could a marketing text go to this profile now? If not: the rule, why, and until when")
def profile_sendability(request, profile_id: RowId):
    profile = profiles.get_profile(request.store, profile_id)
    answer = sendability.profile_sendability(request.store, profile)
    return {**answer.__dict__, "local_times": [{"timezone": t.timezone, "local": t.local} for t in answer.local_times]}
