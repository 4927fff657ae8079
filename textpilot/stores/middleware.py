"""Sets request.store for dashboard requests: the store chosen in the session, if the user
is a member of it, else their first store; and the user's role in it (request.store_role,
request.store_is_owner), which common.dashboard reads. API requests get their store from the
API key."""
from textpilot.stores import service
from textpilot.stores.models import Membership

SESSION_KEY = "textpilot_store_id"


class CurrentStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.store, request.store_role, request.store_is_owner = None, None, False
        if request.path_info.startswith("/api/"):  # the API key names the store; no session to read
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            memberships = service.memberships_of(user)
            chosen = request.session.get(SESSION_KEY)
            membership = (memberships.filter(store_id=chosen).first() if chosen else None) or memberships.first()
            if membership is not None:
                request.store, request.store_role = membership.store, membership.role
                request.store_is_owner = membership.role == Membership.Role.OWNER
        return self.get_response(request)
