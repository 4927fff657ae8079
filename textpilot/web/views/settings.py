"""Store settings (owners edit, staff read) and API keys (owners create and revoke)."""
import zoneinfo

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from textpilot.common.errors import DomainError, NotFound
from textpilot.stores import service as stores_service
from textpilot.web.forms import ApiKeyForm, StoreSettingsForm
from textpilot.common.dashboard import dashboard_view, is_owner, page, require_owner

TIMEZONES = sorted(zoneinfo.available_timezones())


@dashboard_view
def store_settings(request):
    store = request.store
    can_edit = is_owner(request)
    status = 200
    if request.method == "POST":
        require_owner(request)
        form = StoreSettingsForm(request.POST)
        if form.is_valid():
            try:
                stores_service.update_store_settings(store, **form.cleaned_data)
            except DomainError as exc:
                form.add_domain_error(exc)
                store.refresh_from_db()  # the service refuses before changing anything
            else:
                messages.success(request, "Store settings saved.")
                return redirect("web:settings")
        form.mark_invalid()
        status = 422
    else:
        form = StoreSettingsForm(initial=StoreSettingsForm.initial_from(store))
        if not can_edit:
            form.make_read_only()
    return page(request, "web/settings/store.html", "settings", status=status, form=form, can_edit=can_edit, timezones=TIMEZONES)


@dashboard_view
def api_keys(request):
    return page(
        request, "web/settings/api_keys.html", "api_keys",
        keys=list(stores_service.list_api_keys(request.store)), form=ApiKeyForm(), can_edit=is_owner(request),
    )


@dashboard_view
@require_POST
def api_key_create(request):
    require_owner(request)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        form.mark_invalid()
        return page(
            request, "web/settings/api_keys.html", "api_keys", status=422,
            keys=list(stores_service.list_api_keys(request.store)), form=form, can_edit=True,
        )
    api_key, raw_key = stores_service.create_api_key(request.store, form.cleaned_data["name"])
    # The raw key exists only in this response: it is never stored, put in the session or logged.
    response = page(request, "web/settings/api_key_created.html", "api_keys", api_key=api_key, raw_key=raw_key)
    response["Cache-Control"] = "no-store"
    return response


@dashboard_view
@require_POST
def api_key_revoke(request, key_id: int):
    require_owner(request)
    try:
        api_key = stores_service.revoke_api_key(request.store, key_id)
    except NotFound:
        raise Http404("no such API key in this store") from None
    messages.success(request, f"Key {api_key.prefix}… ({api_key.name}) revoked. Requests using it are refused from now on.")
    return redirect("web:api_keys")
