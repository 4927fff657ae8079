"""Compliance settings of the store: sending windows, fraud limits and keyword replies.
Owners change them; staff read them. A window that runs past midnight is only saved when
"Overnight window" is ticked and, the first time, confirmed on a second step."""
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect
from django.utils import timezone

from textpilot.common.errors import DomainError
from textpilot.delivery import sending_rules, service
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
        form = ComplianceForm(request.POST, defaults=defaults)
        if form.is_valid():
            if form.runs_past_midnight() and not form.cleaned_data["confirm_overnight"] and not _saved_as_is(current, form):
                confirm_overnight = True  # nothing is saved until the owner confirms the overnight window
            else:
                try:
                    # All or nothing: the service checks field by field while it assigns.
                    with transaction.atomic():
                        service.update_compliance_settings(store, **form.settings_values())
                except DomainError as exc:
                    form.add_domain_error(exc)
                else:
                    messages.success(request, "Compliance settings saved.")
                    return redirect("delivery:compliance")
        if not confirm_overnight:
            form.mark_invalid()
            status = 422
    else:
        form = ComplianceForm(initial=ComplianceForm.initial_from(current), defaults=defaults)
        if not can_edit:
            form.make_read_only()
    form.fields["daily_spend_cap"].label = f"Daily spend cap ({store.currency})"
    start, end, overnight = form.window()
    # Rules that allow less than this window: their people keep their own hours (sending_rules.py).
    stricter = sending_rules.wider_than(start, end, overnight, timezone.now().date()) if start and end else []
    unconfirmed = (request.method != "POST" and current.quiet_hours_start <= current.quiet_hours_end
                   and not current.overnight_window)
    return page(request, "delivery/compliance.html", NAV, status=status, form=form, can_edit=can_edit,
                confirm_overnight=confirm_overnight, window_start=start, window_end=end, stricter=stricter,
                unconfirmed_overnight=unconfirmed)


def _saved_as_is(current: ComplianceSettings, form: ComplianceForm) -> bool:
    """The overnight window being saved is the one already saved (and confirmed then)."""
    start, end, _ = form.window()
    return current.overnight_window and (current.quiet_hours_end, current.quiet_hours_start) == (start, end)
