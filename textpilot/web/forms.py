"""Dashboard forms. They collect and type-check input only; the domain rules (time zone,
currency, phone…) live in the services, whose FieldError is shown next to its field."""
from django import forms

from textpilot.common.dashboard import DashboardForm


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
