"""Every model that can hold a person's data is accounted for in the privacy registry
(common.privacy): a handler that exports/erases/re-points it, or a stated reason it is not
personal. A new model with a profile reference or a personal column fails here until its
app registers it."""
from django.apps import apps

from textpilot.common import privacy

# Column names that hold a person's data (or a free text / raw payload that may).
PERSONAL_COLUMNS = {"phone", "email", "first_name", "last_name", "external_id", "anonymous_id", "ip_address",
                    "user_agent", "to_phone", "from_phone", "from_number", "body", "payload", "raw", "request",
                    "response", "shipping", "checkout_url", "target_url", "city", "latitude", "longitude",
                    "file_path", "errors_sample", "value", "sender_phone", "support_email"}


def _looks_personal(model) -> bool:
    for field in model._meta.get_fields():
        related = getattr(field, "related_model", None)
        if field.concrete and related is not None and related._meta.label == "profiles.Profile":
            return True
    return any(f.name in PERSONAL_COLUMNS for f in model._meta.concrete_fields)


def test_every_personal_model_is_covered_by_a_handler():
    ours = [m for m in apps.get_models() if m.__module__.startswith("textpilot.")]
    candidates = {m._meta.label for m in ours if _looks_personal(m)}
    covered = privacy.covered_models()
    assert sorted(candidates - covered.keys()) == []
    # The scan is not vacuous: it finds the models we know hold personal data.
    assert {"profiles.Profile", "events.Event", "delivery.Message", "shopify.WebhookDelivery",
            "imports.ImportJob", "commerce.Order", "messaging.ShortLink"} <= candidates


def test_registered_labels_name_real_models():
    labels = {m._meta.label for m in apps.get_models()}
    assert sorted(set(privacy.covered_models()) - labels) == []


def test_handlers_run_in_layer_order_and_each_does_something():
    names = [h.name for h in privacy.handlers()]
    assert names.index("events") < names.index("commerce") < names.index("delivery")
    for handler in privacy.handlers():
        if handler.name != "profiles":  # profiles.privacy handles its own models directly
            assert handler.erase is not None, handler.name
