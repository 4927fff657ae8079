"""Staff unsubscribe / resubscribe, shared by the profile page and the inbox conversation.

The views around it are thin: they check the role, call `handle()` and either redirect (the
change is recorded, a flash says so) or render their page again with the form's errors
(status 422). Errors of the consent rules (`Conflict` when an opt-in is refused, a
`FieldError` such as an erased number) are shown on the form, never a 500."""
import structlog
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied

from textpilot.common.dashboard import DashboardForm
from textpilot.common.errors import DomainError
from textpilot.profiles import staff_consent
from textpilot.stores.models import Membership

log = structlog.get_logger(__name__)

ROLES = (Membership.Role.OWNER, Membership.Role.STAFF)


class StaffConsentForm(DashboardForm):
    """Staff unsubscribe or resubscribe a customer (profile page, inbox). A reason is
    required; a resubscribe also needs the box "the customer asked" ticked."""

    UNSUBSCRIBE, RESUBSCRIBE = "unsubscribed", "subscribed"
    CONFIRM_LABEL = "The customer asked to receive texts again"

    status = forms.ChoiceField(choices=[(UNSUBSCRIBE, "Unsubscribe"), (RESUBSCRIBE, "Resubscribe")],
                               widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason", max_length=500, required=True,
        error_messages={"required": "a reason is required: say why (e.g. “asked by phone to stop”)",
                        "max_length": "keep the reason to 500 characters (it has %(show_value)d)"},
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Why? e.g. “Asked by phone on May 3 to stop texts”"}),
    )
    confirmed = forms.BooleanField(label=CONFIRM_LABEL, required=False)

    @classmethod
    def for_profile(cls, profile, data=None, **kwargs):
        """Unsubscribe unless the customer already is unsubscribed (then: resubscribe)."""
        status = cls.RESUBSCRIBE if profile.sms_status == cls.UNSUBSCRIBE else cls.UNSUBSCRIBE
        form = cls(data, initial={"status": status}, **kwargs)
        if form.is_resubscribe:
            form.fields["confirmed"].widget.attrs["required"] = True
        return form

    @property
    def is_resubscribe(self) -> bool:
        value = self.data.get("status") if self.is_bound else self.initial.get("status")
        return value == self.RESUBSCRIBE

    def clean(self):
        data = super().clean()
        if data.get("status") == self.RESUBSCRIBE and not data.get("confirmed"):
            self.add_error("confirmed", "tick the box: only resubscribe a customer who asked to receive texts again")
        return data


def require_member(request) -> None:
    """Owners and staff of the current store may change consent by hand."""
    if getattr(request, "store_role", None) not in ROLES:
        raise PermissionDenied("only owners and staff of this store can change consent")


def handle(request, profile) -> tuple[StaffConsentForm, bool]:
    """Validate the POSTed form and record the change. Returns the form and whether it was recorded."""
    require_member(request)
    form = StaffConsentForm.for_profile(profile, request.POST)
    if form.is_valid():
        status = form.cleaned_data["status"]
        try:
            staff_consent.set_sms_consent_by_staff(request.store, profile, request.user, status, form.cleaned_data["reason"])
        except DomainError as exc:  # Conflict (opt-in refused), FieldError (no number, …), NotFound
            # Only the reason is a visible field; anything else is said above the form.
            form.add_error("reason" if exc.field == "reason" else None, exc.message)
        else:
            log.info("profile.staff_consent", store=request.store.slug, profile_id=profile.pk, status=status,
                     user_id=request.user.pk)
            profile.refresh_from_db(fields=["sms_status", "sms_status_at"])
            if profile.sms_status == status:
                messages.success(request, f"{profile.display_name} is now {profile.get_sms_status_display().lower()}. "
                                          "The change and your reason are in the consent trail.")
            else:  # recorded as evidence, but a newer change still decides the status
                messages.warning(request, f"Recorded in the consent trail, but {profile.display_name} stays "
                                          f"{profile.get_sms_status_display().lower()}: a newer consent change decides.")
            return form, True
    form.mark_invalid()
    return form, False
