"""Dashboard forms. They collect and type-check input only; the domain rules (time zone,
currency, phone…) live in the services, whose FieldError is shown next to its field."""
from django import forms

from textpilot.common.errors import DomainError


class DashboardForm(forms.Form):
    def add_domain_error(self, exc: DomainError) -> None:
        field = exc.field if exc.field in self.fields else None
        self.add_error(field, exc.message)

    def mark_invalid(self) -> None:
        """Pico styles inputs with aria-invalid; mark those with errors."""
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-invalid"] = "true"
                self.fields[name].widget.attrs["aria-describedby"] = f"{name}-error"

    def make_read_only(self) -> None:
        for field in self.fields.values():
            field.disabled = True


class StoreSettingsForm(DashboardForm):
    name = forms.CharField(label="Store name", max_length=200, required=False)
    timezone = forms.CharField(
        label="Time zone", max_length=64, required=False,
        help_text="IANA name such as America/New_York. Send times and reports use it.",
        widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
    )
    currency = forms.CharField(label="Currency", max_length=3, required=False, help_text="ISO 4217 code, e.g. USD")
    country = forms.CharField(label="Country", max_length=2, required=False, help_text="ISO 3166 code; default region for phone numbers")
    domain = forms.CharField(label="Short-link domain", max_length=255, required=False, help_text="Public domain for short links (optional)")
    sender_name = forms.CharField(label="Brand name in texts", max_length=64, required=False, help_text="Defaults to the store name")
    sender_phone = forms.CharField(label="Sender number", max_length=20, required=False, help_text="E.164 number or short code")
    support_email = forms.EmailField(label="Support email", max_length=254, required=False)

    SECTIONS = (
        ("Store", ("name", "timezone", "currency", "country")),
        ("Sending", ("sender_name", "sender_phone", "domain", "support_email")),
    )

    @classmethod
    def initial_from(cls, store) -> dict:
        return {name: getattr(store, name) for name in cls.base_fields}

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]


class ApiKeyForm(DashboardForm):
    name = forms.CharField(label="Key name", max_length=100, required=False, help_text="What uses this key, e.g. “Shopify sync”")


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
