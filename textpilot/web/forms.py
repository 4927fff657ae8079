"""Dashboard forms. They collect and type-check input (common.inputs' fields: ISO codes, host
names, text without NUL, none cut short by an HTML maxlength); the domain rules (time zone,
phone, …) live in the services, whose errors are shown next to their fields."""
from django import forms

from textpilot.common.dashboard import DashboardForm
from textpilot.common.inputs import CountryCodeField, CurrencyCodeField, HostNameField, PlainTextField
from textpilot.stores.service import API_KEY_NAME_MAX


class StoreSettingsForm(DashboardForm):
    name = PlainTextField(label="Store name", max_length=200)
    timezone = PlainTextField(
        label="Time zone", max_length=64,
        help_text="IANA name such as America/New_York. Send times and reports use it.",
        widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}),
    )
    currency = CurrencyCodeField(label="Currency", help_text="ISO 4217 code, e.g. USD")
    country = CountryCodeField(label="Country", help_text="ISO 3166 code, e.g. US; default region for phone numbers")
    domain = HostNameField(label="Short-link domain", max_length=255, required=False,
                           help_text="Public host name for short links, e.g. sms.example.com (optional)")
    sender_name = PlainTextField(label="Brand name in texts", max_length=64, required=False, help_text="Defaults to the store name")
    sender_phone = PlainTextField(label="Sender number", max_length=32, required=False, help_text="E.164 number or short code")
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
    name = PlainTextField(label="Key name", max_length=API_KEY_NAME_MAX, help_text="What uses this key, e.g. “Shopify sync”",
                          error_messages={"required": "Give the key a name: what will use it, e.g. Shopify sync."})
