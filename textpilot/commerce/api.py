from ninja import Router, Status

from textpilot.commerce import service
from textpilot.commerce.schemas import OrderIn, OrderOut

router = Router(tags=["orders"])


@router.post("/orders", response={201: OrderOut, 200: OrderOut}, summary="Create or update an order (by external_id)")
def upsert_order(request, payload: OrderIn):
    data = payload.dict()
    order, created = service.record_order_for(request.store, data.pop("profile"), **data)
    return Status(201 if created else 200, order)
