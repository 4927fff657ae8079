"""Compliance settings of the store: sending windows, fraud limits and keyword replies.
Owners change them; staff read them."""
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect

from textpilot.common.errors import DomainError
from textpilot.delivery import service
from textpilot.delivery.forms import ComplianceForm
from textpilot.delivery.models import ComplianceSettings
from textpilot.web.views.common import dashboard_view, is_owner, page, require_owner

NAV = "compliance"


@dashboard_view
def compliance(request):
    store = request.store
    can_edit = is_owner(request)
    # The defaults ignore the store's own wording: they are what an empty field means.
    defaults = service.reply_texts(store, ComplianceSettings(store=store))
    status = 200
    if request.method == "POST":
        require_owner(request)
        form = ComplianceForm(request.POST, defaults=defaults)
        if form.is_valid():
            try:
                # All or nothing: the service checks field by field while it assigns.
                with transaction.atomic():
                    service.update_compliance_settings(store, **form.settings_values())
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, "Compliance settings saved.")
                return redirect("delivery:compliance")
        form.mark_invalid()
        status = 422
    else:
        form = ComplianceForm(initial=ComplianceForm.initial_from(service.compliance_settings(store)), defaults=defaults)
        if not can_edit:
            form.make_read_only()
    form.fields["daily_spend_cap"].label = f"Daily spend cap ({store.currency})"
    return page(request, "delivery/compliance.html", NAV, status=status, form=form, can_edit=can_edit)
