"""Sets request.store for dashboard requests: the store chosen in the session, if the user
is a member of it, else their first store. API requests get their store from the API key."""
from textpilot.stores import service

SESSION_KEY = "textpilot_store_id"


class CurrentStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.store = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/api/"):
            stores = service.stores_for_user(user)
            chosen = request.session.get(SESSION_KEY)
            store = stores.filter(pk=chosen).first() if chosen else None
            request.store = store or stores.first()
        return self.get_response(request)
