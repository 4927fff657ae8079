"""The JSON API at /api/v1/: one NinjaAPI, a router per domain, errors as 4xx naming the field."""
import logging

from django.core.exceptions import RequestDataTooBig
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from textpilot.common.api_responses import declare_error_responses
from textpilot.common.errors import DomainError
from textpilot.commerce.api import router as commerce_router
from textpilot.delivery.api import router as delivery_router
from textpilot.events.api import router as events_router
from textpilot.integrations.imports.api import router as imports_router
from textpilot.messaging.api import router as messaging_router
from textpilot.profiles.api import router as profiles_router
from textpilot.stores.api import router as stores_router
from textpilot.stores.auth import StoreApiKeyAuth

logger = logging.getLogger("textpilot.api")


class TextpilotApi(NinjaAPI):
    """NinjaAPI whose OpenAPI document declares the error answers (common/api_responses.py)
    and whose 422 `loc` is the path of the bad value in the request, as the README
    documents: `["body", "kind"]`, `["body", "profile", "phone"]` for a nested payload (ninja
    puts the view's parameter name in between: `["body", "payload", "kind"]`), the same as
    a service's FieldError for that field (common.errors.field_path)."""

    def validation_error_from_error_contexts(self, error_contexts):
        error = super().validation_error_from_error_contexts(error_contexts)
        body_params = {name for context in error_contexts if context.model.__ninja_param_source__ == "body"
                       for name in context.model.model_fields}
        if len(body_params) == 1:  # one body parameter: the body *is* that schema
            for detail in error.errors:
                loc = detail["loc"]
                if loc[:1] == ("body",) and loc[1:2] == tuple(body_params):
                    detail["loc"] = ("body", *loc[2:])
        return error

    def get_openapi_schema(self, *args, **kwargs):
        return declare_error_responses(super().get_openapi_schema(*args, **kwargs))


api = TextpilotApi(
    title="textpilot API",
    version="1",
    description="Profiles, consent, events, orders and messages of one store. Authenticate with `Authorization: Bearer <API key>`.",
    auth=StoreApiKeyAuth(),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/", stores_router)
api.add_router("/", profiles_router)
api.add_router("/", events_router)
api.add_router("/", imports_router)
api.add_router("/", commerce_router)
api.add_router("/", messaging_router)
api.add_router("/", delivery_router)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    logger.info("api request refused", extra={"path": request.path, "field": exc.field, "reason": exc.message})
    return api.create_response(request, {"detail": exc.as_detail()}, status=exc.status_code)


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    return api.create_response(
        request, {"detail": "missing or invalid API key: send 'Authorization: Bearer <key>'"}, status=401
    )


@api.exception_handler(RequestDataTooBig)
def body_too_big(request, exc):
    return api.create_response(request, {"detail": "request body is too large"}, status=413)
