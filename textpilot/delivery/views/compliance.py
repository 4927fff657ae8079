"""Compliance settings of the store: sending windows, fraud limits and keyword replies.
Owners change them; staff read them. A window that runs past midnight is only saved when
"Overnight window" is ticked and, the first time, confirmed on a second step."""
from functools import partial

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone

from textpilot.common.errors import DomainError
from textpilot.delivery import reach, sending_rules, service
from textpilot.delivery.forms import ComplianceForm
from textpilot.delivery.models import ComplianceSettings
from textpilot.common.dashboard import dashboard_view, is_owner, page, require_owner

NAV = "compliance"


@dashboard_view
def compliance(request):
    store = request.store
    can_edit = is_owner(request)
    # The defaults ignore the store's own wording: they are what an empty field means.
    defaults = service.reply_texts(store, ComplianceSettings(store=store))
    current = service.compliance_settings(store)
    status, confirm_overnight = 200, False
    if request.method == "POST":
        require_owner(request)
        form = ComplianceForm(request.POST, defaults=defaults, currency=store.currency)
        check = partial(service.check_compliance_settings, store)
        if not form.is_valid():
            form.check_rest(check, form.settings_values())  # the service's rules too, in the same answer
        elif form.runs_past_midnight() and not form.cleaned_data["confirm_overnight"] and not _saved_as_is(current, form):
            form.check_rest(check, form.settings_values())  # every other refusal first, then the question
            confirm_overnight = not form.errors  # nothing is saved until the owner confirms the overnight window
        else:
            try:
                service.update_compliance_settings(store, **form.settings_values())  # checks every field before saving
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, "Compliance settings saved.")
                return redirect("delivery:compliance")
        if not confirm_overnight:
            form.mark_invalid()
            status = 422
    else:
        form = ComplianceForm(initial=ComplianceForm.initial_from(current), defaults=defaults, currency=store.currency)
        if not can_edit:
            form.make_read_only()
    start, end, overnight = form.window()
    # Rules that allow less than this window: their people keep their own hours (sending_rules.py).
    stricter = sending_rules.wider_than(start, end, overnight, timezone.now().date()) if start and end else []
    unconfirmed = (request.method != "POST" and current.quiet_hours_start <= current.quiet_hours_end
                   and not current.overnight_window)
    # Subscribers the saved allowlist leaves out: no text can reach them (the gate's rule `country`).
    left_out = reach.left_out(store, current.allowed_countries)
    return page(request, "delivery/compliance.html", NAV, status=status, form=form, can_edit=can_edit,
                left_out=left_out, left_out_total=sum(row.count for row in left_out),
                allowed_now=current.allowed_countries or [store.country],
                confirm_overnight=confirm_overnight, window_start=start, window_end=end, stricter=stricter,
                unconfirmed_overnight=unconfirmed)


def _saved_as_is(current: ComplianceSettings, form: ComplianceForm) -> bool:
    """The overnight window being saved is the one already saved (and confirmed then)."""
    start, end, _ = form.window()
    return current.overnight_window and (current.quiet_hours_end, current.quiet_hours_start) == (start, end)
