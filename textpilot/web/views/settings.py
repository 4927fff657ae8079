"""Store settings (owners edit, staff read) and API keys (owners create and revoke)."""
import time
import zoneinfo
from functools import partial

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from textpilot.common.crypto import decrypt_secret, encrypt_secret
from textpilot.common.errors import DomainError, NotFound
from textpilot.common.http import is_public_https, public_address
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
        if not form.is_valid():
            form.check_rest(partial(stores_service.check_store_settings, store), form.cleaned_data)  # every field at once
        else:
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
    script_url = public_address(request, reverse("snippet:js"))
    return page(request, "web/settings/store.html", "settings", status=status, form=form, can_edit=can_edit, timezones=TIMEZONES,
                snippet=f'<script src="{script_url}" data-key="{store.public_key}" async></script>',
                snippet_https=is_public_https(script_url))


def _api_keys_page(request, form=None, status=200):
    return page(
        request, "web/settings/api_keys.html", "api_keys", status=status,
        keys=list(stores_service.list_api_keys(request.store)), form=form or ApiKeyForm(), can_edit=is_owner(request),
    )


@dashboard_view
def api_keys(request):
    return _api_keys_page(request)


# POST creates the key and redirects; the GET after it shows the key once. In between the raw
# key waits in the session, encrypted, for at most NEW_KEY_SHOWN_FOR seconds; the GET takes it
# out, so reloading the page neither creates a second key nor shows this one again.
NEW_KEY_SESSION = "web.new_api_key"
NEW_KEY_SHOWN_FOR = 300


@dashboard_view
@require_http_methods(["GET", "POST"])
def api_key_create(request):
    require_owner(request)
    if request.method == "GET":
        return _show_new_key(request)
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            api_key, raw_key = stores_service.create_api_key(request.store, form.cleaned_data["name"])
        except DomainError as exc:
            form.add_domain_error(exc)
        else:
            request.session[NEW_KEY_SESSION] = {
                "store": request.store.pk, "id": api_key.pk, "key": encrypt_secret(raw_key), "at": time.time()}
            return redirect("web:api_key_create")
    form.mark_invalid()
    return _api_keys_page(request, form=form, status=422)


def _show_new_key(request):
    waiting = request.session.pop(NEW_KEY_SESSION, None)
    fresh = (isinstance(waiting, dict) and waiting.get("store") == request.store.pk
             and time.time() - float(waiting.get("at") or 0) < NEW_KEY_SHOWN_FOR)
    try:
        api_key = stores_service.get_api_key(request.store, waiting["id"]) if fresh else None
    except NotFound:
        api_key = None
    if api_key is None:
        messages.info(request, "A new key is shown only once, right after it is created. "
                               "If you did not copy it, revoke it and create another.")
        return redirect("web:api_keys")
    response = page(request, "web/settings/api_key_created.html", "api_keys", api_key=api_key,
                    raw_key=decrypt_secret(waiting["key"]))
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
