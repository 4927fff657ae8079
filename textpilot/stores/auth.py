"""API authentication: `Authorization: Bearer <key>` resolves to one store."""
from ninja.security import HttpBearer

from textpilot.stores import service


class StoreApiKeyAuth(HttpBearer):
    def authenticate(self, request, token):
        api_key = service.authenticate_api_key(token)
        if api_key is None:
            return None
        request.store = api_key.store
        request.api_key = api_key
        return api_key
