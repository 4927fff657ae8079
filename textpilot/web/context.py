"""Template context every dashboard page gets: the current store, the stores to switch to,
and the user's role in the current store."""
from textpilot.stores import service as stores_service


def dashboard_context(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    store = getattr(request, "store", None)
    role = getattr(request, "store_role", None)
    if role is None and store is not None:
        role = stores_service.role_of(user, store)
    return {
        "current_store": store,
        "current_role": role,
        "my_stores": list(stores_service.stores_for_user(user)),
    }
