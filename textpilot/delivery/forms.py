"""Forms of the delivery pages. They collect and type-check input; the rules (phone numbers,
provider configuration, compliance limits) live in the delivery service, whose FieldError
is shown next to its field."""
from __future__ import annotations

import json

from django import forms

from textpilot.delivery.models import DEFAULT_RATE_PER_SECOND, MAX_REPLY_CHARACTERS, Direction, Kind, NumberType, Status
from textpilot.delivery.providers.base import provider_class, provider_names
from textpilot.common.dashboard import DashboardForm
from textpilot.common.inputs import CountryCodeListField

CREDENTIAL_PREFIX = "credential_"
OPTION_PREFIX = "option_"


def _choices(label: str, values) -> list[tuple[str, str]]:
    return [("", label), *values]


class MessageFilterForm(forms.Form):
    """Filters of the messages log. Unknown values are dropped, not errors: a filter link
    from an old bookmark still shows a page."""

    status = forms.ChoiceField(choices=_choices("Any status", Status.choices), required=False)
    direction = forms.ChoiceField(choices=_choices("Both directions", Direction.choices), required=False)
    kind = forms.ChoiceField(choices=_choices("Any kind", Kind.choices), required=False)
    phone = forms.CharField(max_length=32, required=False,
                            widget=forms.TextInput(attrs={"placeholder": "Phone contains…", "type": "search"}))

    def filters(self) -> dict[str, str]:
        if self.is_valid():
            return {name: value.strip() for name, value in self.cleaned_data.items() if value and value.strip()}
        return {name: self.data.get(name, "").strip() for name in self.fields
                if name not in self.errors and self.data.get(name, "").strip()}


class ReplyForm(DashboardForm):
    body = forms.CharField(label="Reply", max_length=1600, required=False,
                           widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Write a reply…"}))


class PhoneForm(DashboardForm):
    """A text typed on the simulated phone, as the customer."""

    number = forms.CharField(label="Customer number", max_length=32, required=False,
                             widget=forms.TextInput(attrs={"placeholder": "+1 415 555 0123", "autocomplete": "off"}))
    body = forms.CharField(label="Text", max_length=1600, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "Text message", "autocomplete": "off"}))


class TestSendForm(DashboardForm):
    to = forms.CharField(label="Send a test to", max_length=32, required=False,
                         widget=forms.TextInput(attrs={"placeholder": "+1 415 555 0123", "autocomplete": "off"}))


class SenderForm(DashboardForm):
    """A new sender. The provider's own fields come from its class: `credential_fields`
    (secrets, password inputs that never show a value) and `option_fields` (typed by their
    default value)."""

    provider = forms.ChoiceField(label="Provider")
    name = forms.CharField(label="Name", max_length=100, required=False, help_text="e.g. “US short code”")
    from_number = forms.CharField(label="Number or sender id", max_length=32, required=False,
                                  help_text="E.164 number (+14155550100), short code or alphanumeric id")
    number_type = forms.ChoiceField(label="Number type", choices=NumberType.choices, initial=NumberType.TEN_DLC)
    rate_per_second = forms.FloatField(label="Messages per second", required=False, min_value=0.001, max_value=10_000,
                                       help_text="Empty: the usual rate of the number type")
    is_default = forms.BooleanField(label="Make it the default sender", required=False)

    def __init__(self, *args, provider: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        names = provider_names()
        self.fields["provider"].choices = [(name, provider_class(name).label) for name in names]
        chosen = provider or (self.data.get("provider") if self.is_bound else None) or ("sim" if "sim" in names else names[0])
        if chosen not in names:
            chosen = names[0]
        self.fields["provider"].initial = chosen
        self.provider_cls = provider_class(chosen)
        self.credential_names = list(self.provider_cls.credential_fields)
        self.option_names = list(self.provider_cls.option_fields)
        for name in self.credential_names:
            self.fields[CREDENTIAL_PREFIX + name] = forms.CharField(
                label=_humanize(name), required=False, strip=True,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                help_text="Stored encrypted; never shown again.",
            )
        for name, default in self.provider_cls.option_fields.items():
            self.fields[OPTION_PREFIX + name] = _option_field(name, default)
        self.fields["rate_per_second"].widget.attrs["placeholder"] = ", ".join(
            f"{NumberType(t).label}: {r:g}" for t, r in list(DEFAULT_RATE_PER_SECOND.items())[:3])

    def provider_fields(self):
        return [self[CREDENTIAL_PREFIX + n] for n in self.credential_names] + [self[OPTION_PREFIX + n] for n in self.option_names]

    def common_fields(self):
        return [self[name] for name in ("name", "from_number", "number_type", "rate_per_second")]

    def sender_arguments(self) -> dict:
        """create_sender's arguments from the fields that type-checked (all, on a valid form)."""
        data = self.cleaned_data
        options = {}
        for name in self.option_names:
            value = data.get(OPTION_PREFIX + name)
            if value is None or value == "":
                continue  # the provider's default applies
            options[name] = value
        return dict(
            name=data.get("name", ""), provider=data.get("provider", ""), from_number=data.get("from_number", ""),
            number_type=data.get("number_type", NumberType.TEN_DLC),
            rate_per_second=data.get("rate_per_second"), is_default=True if data.get("is_default") else None,
            credentials={name: data.get(CREDENTIAL_PREFIX + name, "") for name in self.credential_names},
            options=options,
        )

    def field_for(self, service_field: str | None) -> str | None:
        # The provider names its own fields ("auth_token"); the form prefixes them.
        for candidate in (service_field, CREDENTIAL_PREFIX + str(service_field), OPTION_PREFIX + str(service_field)):
            if candidate in self.fields:
                return candidate
        return None


class JSONOptionField(forms.CharField):
    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise forms.ValidationError("enter a JSON value") from None


def _option_field(name: str, default) -> forms.Field:
    label, help_text = _humanize(name), f"Default: {default}" if default not in ("", None) else "Optional"
    if isinstance(default, bool):
        return forms.BooleanField(label=label, required=False, initial=default)
    if isinstance(default, int):
        return forms.IntegerField(label=label, required=False, initial=default, help_text=help_text)
    if isinstance(default, float):
        return forms.FloatField(label=label, required=False, initial=default, help_text=help_text)
    if isinstance(default, str):
        return forms.CharField(label=label, required=False, initial=default, help_text=help_text)
    return JSONOptionField(label=label, required=False, initial=json.dumps(default), help_text="JSON")


def _humanize(name: str) -> str:
    words = name.replace("_", " ").strip()
    for unit, text in ((" ms", " (ms)"), (" s", " (seconds)")):
        if words.endswith(unit):
            words = words[: -len(unit)] + text
    return (words[:1].upper() + words[1:]).replace("sid", "SID").replace("url", "URL")


class ComplianceForm(DashboardForm):
    """The store's compliance settings. The sending window is asked for as a sentence, start
    then end; the model keeps it as quiet hours (`quiet_hours_end` = window start,
    `quiet_hours_start` = window end). An end that is not after the start is refused unless
    "Overnight window" is ticked, and the view asks to confirm an overnight window once."""

    window_start = forms.TimeField(label="Start of the sending window", required=False)
    window_end = forms.TimeField(label="End of the sending window", required=False)
    overnight_window = forms.BooleanField(
        label="Overnight window", required=False,
        help_text="Tick to run the window past midnight: from the start in the evening to the end the next morning "
                  "(equal times: every hour)")
    confirm_overnight = forms.BooleanField(required=False, widget=forms.HiddenInput)
    smart_sending_hours = forms.IntegerField(label="Smart sending (hours)", required=False,
                                             help_text="Skip a marketing text if the customer got one this recently; 0 turns it off (0–168)")
    allowed_countries = CountryCodeListField(label="Allowed countries", max_length=1000, required=False,
                                             help_text="Two-letter codes separated by commas, e.g. US, CA. Empty: only the store's country")
    daily_spend_cap = forms.DecimalField(label="Daily spend cap", required=False, max_digits=12, decimal_places=2,
                                         help_text="Most the store may spend on texts per day; empty: no cap")
    stop_reply = forms.CharField(label="Reply to STOP", required=False, max_length=MAX_REPLY_CHARACTERS,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    start_reply = forms.CharField(label="Reply to START", required=False, max_length=MAX_REPLY_CHARACTERS,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    help_reply = forms.CharField(label="Reply to HELP", required=False, max_length=MAX_REPLY_CHARACTERS,
                                 widget=forms.Textarea(attrs={"rows": 2}))

    WINDOW = ("window_start", "window_end")
    SECTIONS = (
        ("Sending windows", ("overnight_window", "smart_sending_hours")),
        ("Fraud and spend", ("allowed_countries", "daily_spend_cap")),
        ("Keyword replies", ("stop_reply", "start_reply", "help_reply")),
    )
    REQUIRED = ("window_start", "window_end", "smart_sending_hours")
    # The service keeps the window as quiet hours: they start where the window ends.
    domain_fields = {"quiet_hours_start": "window_end", "quiet_hours_end": "window_start"}

    def __init__(self, *args, defaults: dict[str, str] | None = None, currency: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if currency:  # before any bound field is made: they copy the label (a failed save kept no unit)
            self.fields["daily_spend_cap"].label = f"Daily spend cap ({currency})"
        for name in self.WINDOW:
            self.fields[name].widget = forms.TimeInput(attrs={"type": "time", "aria-label": self.fields[name].label},
                                                       format="%H:%M")
        self.fields["smart_sending_hours"].widget.attrs.update(min=0, max=168)
        self.fields["daily_spend_cap"].widget.attrs.update(min=0, step="0.01")
        for what, text in (defaults or {}).items():
            self.fields[f"{what}_reply"].widget.attrs["placeholder"] = text
            self.fields[f"{what}_reply"].help_text = "Empty: the default shown in grey"

    @classmethod
    def initial_from(cls, settings) -> dict:
        initial = {name: getattr(settings, name) for name in cls.base_fields if hasattr(settings, name)}
        initial.update(window_start=settings.quiet_hours_end, window_end=settings.quiet_hours_start,
                       allowed_countries=", ".join(settings.allowed_countries or []))
        return initial

    def clean(self):
        data = super().clean()
        for name in self.REQUIRED:
            if name not in self.errors and data.get(name) is None:
                self.add_error(name, f"{self.fields[name].label.lower()} is required")
        start, end = data.get("window_start"), data.get("window_end")
        if start is not None and end is not None and not data.get("overnight_window"):
            if end == start:
                self.add_error("window_end", f"“End” and “Start” are both {start:%H:%M}: that leaves no time to send. "
                                             "Choose an end after the start, or tick “Overnight window” to allow every hour.")
            elif end < start:
                self.add_error("window_end", f"“End” ({end:%H:%M}) is before “Start” ({start:%H:%M}), so marketing would go "
                                             "out overnight. Choose an end after the start, or tick “Overnight window” if "
                                             "that is what you mean.")
        return data

    def mark_invalid(self) -> None:
        super().mark_invalid()
        if "window_end" in self.errors and "window_start" not in self.errors:  # the message names both
            self.fields["window_start"].widget.attrs.update({"aria-invalid": "true", "aria-describedby": "window-error"})
        for name in self.WINDOW:
            if name in self.errors:
                self.fields[name].widget.attrs["aria-describedby"] = "window-error"

    def window(self) -> tuple:
        """(start, end, overnight) as entered (valid form) or as initially shown."""
        if self.is_bound and self.is_valid():
            data = self.cleaned_data
            return data["window_start"], data["window_end"], bool(data.get("overnight_window"))
        return self.initial.get("window_start"), self.initial.get("window_end"), bool(self.initial.get("overnight_window"))

    def runs_past_midnight(self) -> bool:
        start, end, overnight = self.window()
        return bool(overnight and start is not None and end is not None and end <= start)

    def settings_values(self) -> dict:
        """The fields that type-checked, in the service's names (all of them once the form is
        valid). The window only goes with both its ends: half a window would be checked
        against the saved other half."""
        data = dict(self.cleaned_data)
        data.pop("confirm_overnight", None)
        if self.errors.keys() & set(self.WINDOW):
            for name in (*self.WINDOW, "overnight_window"):
                data.pop(name, None)
        else:
            data["quiet_hours_end"], data["quiet_hours_start"] = data.pop("window_start"), data.pop("window_end")
            data["overnight_window"] = bool(data.get("overnight_window"))
        return data

    def window_errors(self) -> list[str]:
        return [error for name in self.WINDOW for error in self.errors.get(name, [])]

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]
