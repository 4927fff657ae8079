"""Shared plumbing of dashboard views: the store guard, the role, rendering in store time, and
the base form. Every app's dashboard views use these, so they live at the bottom layer.

`stores.middleware.CurrentStoreMiddleware` sets what a view needs on the request:
`request.store`, `request.store_role` and `request.store_is_owner`; nothing here imports an app."""
from collections.abc import Callable
from functools import wraps
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from textpilot.common.errors import DomainError


def dashboard_view(view):
    """Login required; a user without a store gets the "no store yet" page; the page is
    rendered with the store's time zone active, so every date shows in store time."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        store = getattr(request, "store", None)
        if store is None:
            return render(request, "web/no_store.html", {"active_nav": None})
        with timezone.override(ZoneInfo(store.timezone or "UTC")):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        return response

    return wrapper


def is_owner(request) -> bool:
    return bool(getattr(request, "store_is_owner", False))


def require_owner(request) -> None:
    if not is_owner(request):
        raise PermissionDenied("only an owner of this store can do this")


def page(request, template: str, active_nav: str | None, status: int = 200, **context):
    context.setdefault("store", request.store)
    response = render(request, template, {"active_nav": active_nav, **context}, status=status)
    # Pages that answer htmx with a fragment must not be cached as the full page (or vice versa).
    patch_vary_headers(response, ("HX-Request",))
    return response


class DashboardForm(forms.Form):
    """Dashboard forms collect and type-check input only; the domain rules live in the
    services. Every error a service reports (one DomainError, or several in FieldErrors) is
    shown next to its field, in words that use the field's label, not its code name."""

    # The service's name of a field -> this form's, where they differ.
    domain_fields: dict[str, str] = {}

    def field_for(self, service_field: str | None) -> str | None:
        """The form field a service's error belongs to (None: the whole form)."""
        name = self.domain_fields.get(service_field or "", service_field)
        return name if name in self.fields else None

    def add_domain_error(self, exc: DomainError) -> None:
        for error in exc.errors:
            field = self.field_for(error.field)
            self.add_error(field, self.worded(error, field))

    def check_rest(self, check: Callable[..., object], values: dict) -> None:
        """Some fields failed to type-check: ask the service about the ones that did (`check`
        validates without writing), so one answer reports every refused field."""
        try:
            check(**values)
        except DomainError as exc:
            for error in exc.errors:
                field = self.field_for(error.field)
                if field not in self.errors:  # a field the form refused already: the service only missed its value
                    self.add_error(field, self.worded(error, field))

    def worded(self, error: DomainError, field: str | None) -> str:
        """The message with the field's label where it starts with the service's name of the
        field ("smart_sending_hours must be …" -> "Smart sending (hours) must be …")."""
        message = error.message
        if field is None or not error.field:
            return message
        label = str(self.fields[field].label or field)
        for subject in (error.field, error.field.replace("_", " ")):
            rest = message[len(subject):]
            if message.lower().startswith(subject.lower()) and rest[:1] in (" ", ":", ","):
                return label + rest
        return message

    def mark_invalid(self) -> None:
        """Pico styles inputs with aria-invalid; mark those with errors."""
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-invalid"] = "true"
                self.fields[name].widget.attrs["aria-describedby"] = f"{name}-error"

    def make_read_only(self) -> None:
        for field in self.fields.values():
            field.disabled = True

    @classmethod
    def refused_before(cls, kept: dict, **kwargs) -> "DashboardForm":
        """The form as it was refused (see `keep_refused_form`): what was typed and its
        errors, shown again without checking anything twice."""
        form = cls(kept["data"], **kwargs)
        form.cleaned_data, form._errors = {}, ErrorDict()
        for name, messages in kept["errors"].items():
            field = None if name == NON_FIELD_ERRORS or name not in form.fields else name
            for message in messages:
                form.add_error(field, message)
        form.mark_invalid()
        return form


# Post/redirect/get for a form that fails inside a page of many (a table row's form): the
# view keeps it in the session and redirects to the page, whose GET shows it once, so the
# address bar never stays on the POST's URL and a reload never posts again.
REFUSED_FORMS_SESSION = "dashboard.refused_form."


def keep_refused_form(request, name: str, form: forms.Form, **about) -> None:
    """Keep a refused form's input (never a password field's) and errors for the next GET."""
    data = {field: form.data.get(field, "") for field, spec in form.fields.items()
            if not isinstance(spec.widget, forms.PasswordInput)}
    errors = {field: [str(message) for message in messages] for field, messages in form.errors.items()}
    request.session[REFUSED_FORMS_SESSION + name] = {"data": data, "errors": errors, **about}


def take_refused_form(request, name: str) -> dict | None:
    """The form kept under `name` (its `data`, `errors` and what the view noted), once."""
    kept = request.session.pop(REFUSED_FORMS_SESSION + name, None)
    return kept if isinstance(kept, dict) and {"data", "errors"} <= kept.keys() else None
