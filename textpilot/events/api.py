from ninja import Router, Status

from textpilot.events import tracking
from textpilot.events.schemas import BatchOut, EventBatchIn, EventIn, EventOut

router = Router(tags=["events"])


@router.post("/events", response={201: EventOut, 200: EventOut}, summary="Track one event")
def track_event(request, payload: EventIn):
    event, created = tracking.track_event(request.store, payload.model_dump())
    event.created = created
    return Status(201 if created else 200, event)


@router.post("/events/batch", response=BatchOut, summary="Track up to 1,000 events at once (all or nothing)")
def track_events(request, payload: EventBatchIn):
    result = tracking.track_events(request.store, payload.model_dump()["events"])
    return {"recorded": result.recorded, "duplicates": result.duplicates, "profiles_created": result.profiles_created}
