from ninja import Router

from textpilot.stores.schemas import StoreOut

router = Router(tags=["stores"])


@router.get("/stores", response=list[StoreOut], summary="Stores this API key can use")
def list_stores(request):
    # A key belongs to exactly one store; the list form leaves room for account-wide keys.
    return [request.store]
