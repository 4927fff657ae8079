"""SMSC delivery receipts (deliver_sm with esm_class 0x04) read into our statuses.

The body follows the de-facto format of SMPP 3.4 Appendix B:
  id:<message id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000 text:…
Many SMSCs also send the id and state as TLVs (receipted_message_id 0x001E, message_state
0x0427); those win when present because they are not free text.
"""
from __future__ import annotations

import dataclasses
import re

# stat words -> delivery.models.Status values. ACCEPTD/ENROUTE (and anything we don't know,
# e.g. UNKNOWN) prove the SMSC holds the text: "sent", which never moves a status backwards.
_FINAL_STATES = {"DELIVRD": "delivered", "UNDELIV": "undelivered", "EXPIRED": "undelivered",
                 "REJECTD": "undelivered", "DELETED": "undelivered"}
# message_state TLV values (SMPP 3.4 §5.2.28) to the same words.
_MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN",
                   8: "REJECTD"}
_FIELD_RE = re.compile(r"(?i)\b(id|stat|err):(\S*)")


@dataclasses.dataclass(frozen=True)
class Receipt:
    provider_message_id: str
    stat: str  # the SMSC's word: DELIVRD, UNDELIV…
    status: str  # ours: sent, delivered, undelivered
    error_code: str
    text: str  # the receipt body as received

    def as_raw(self) -> dict:
        return {"id": self.provider_message_id, "stat": self.stat, "err": self.error_code, "text": self.text}


def status_for(stat: str) -> str:
    return _FINAL_STATES.get(stat.upper(), "sent")


def parse_receipt(text: str, receipted_message_id: str | None = None, message_state: int | None = None) -> Receipt | None:
    """The receipt in a deliver_sm body (and TLVs), or None when it names no message."""
    fields: dict[str, str] = {}
    for name, value in _FIELD_RE.findall(text):
        fields.setdefault(name.lower(), value)  # the first "id:" is the receipt's, later ones are quoted text
    message_id = (receipted_message_id or fields.get("id") or "").strip()
    if not message_id:
        return None
    stat = _MESSAGE_STATES.get(message_state or 0) or fields.get("stat", "").upper() or "UNKNOWN"
    error_code = fields.get("err", "")
    return Receipt(message_id, stat, status_for(stat), "" if error_code.strip("0") == "" else error_code, text)
