"""Staff change a customer's SMS consent by hand: an unsubscribe asked for on the phone, by
email or in a reply the matcher could only flag, or a resubscribe the customer asked for.

Recorded like any other consent change (`service.record_consent`, source "staff", basis
observed: a member of the store saw the request), with who did it and why as the evidence
text. Staff only *re*subscribe: a customer who never subscribed signs up themselves. Whether
an opt-in may lift an earlier opt-out is record_consent's rule, not ours: its `Conflict` /
`FieldError` reach the caller unchanged."""
from __future__ import annotations

from textpilot.common.errors import FieldError
from textpilot.profiles import service
from textpilot.profiles.models import ConsentBasis, ConsentEvent, ConsentStatus, Profile
from textpilot.stores.models import Store

MAX_REASON = 500
STAFF_STATUSES = (ConsentStatus.UNSUBSCRIBED, ConsentStatus.SUBSCRIBED)


def clean_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("a reason is required: say why (e.g. “asked by phone to stop”)", field="reason")
    if len(reason) > MAX_REASON:
        raise FieldError(f"the reason is {len(reason)} characters; keep it to {MAX_REASON}", field="reason")
    return reason


def set_sms_consent_by_staff(store: Store, profile: Profile, user, status: str, reason: str) -> ConsentEvent:
    """Unsubscribe or resubscribe `profile` on behalf of `user` (a member of `store`)."""
    if status not in STAFF_STATUSES:
        raise FieldError("staff can unsubscribe or resubscribe", field="status")
    if status == ConsentStatus.SUBSCRIBED and profile.sms_status != ConsentStatus.UNSUBSCRIBED:
        # Staff bring back a customer who opted out and asked to return; a first opt-in needs the
        # customer's own sign-up (form, keyword, checkout) with its disclosure.
        raise FieldError("only an unsubscribed customer can be resubscribed by staff", field="status")
    reason = clean_reason(reason)
    who = getattr(user, "email", "") or getattr(user, "username", "") or f"user {user.pk}"
    return service.record_consent(store, profile, status, source="staff", basis=ConsentBasis.OBSERVED,
                                  consent_text=f"Staff {who}: {reason}")
