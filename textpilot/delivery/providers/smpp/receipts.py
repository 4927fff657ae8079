"""SMSC delivery receipts (deliver_sm with esm_class 0x04) read into `Receipt` records, the
same records every provider's receipts become (providers/base.py).

The body follows the de-facto format of SMPP 3.4 Appendix B:
  id:<message id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000 text:…
Many SMSCs also send the id and state as TLVs (receipted_message_id 0x001E, message_state
0x0427); those win when present because they are not free text.
"""
from __future__ import annotations

import re

from textpilot.delivery.providers.base import Receipt

# stat words -> delivery.models.Status values. ACCEPTD/ENROUTE (and anything we don't know,
# e.g. UNKNOWN) prove the SMSC holds the text: "sent", which never moves a status backwards.
_FINAL_STATES = {"DELIVRD": "delivered", "UNDELIV": "undelivered", "EXPIRED": "undelivered",
                 "REJECTD": "undelivered", "DELETED": "undelivered"}
# message_state TLV values (SMPP 3.4 §5.2.28) to the same words.
_MESSAGE_STATES = {1: "ENROUTE", 2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 6: "ACCEPTD", 7: "UNKNOWN",
                   8: "REJECTD"}
_FIELD_RE = re.compile(r"(?i)\b(id|stat|err):(\S*)")


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
    error_code = "" if error_code.strip("0") == "" else error_code
    status = status_for(stat)
    return Receipt(status=status, provider_message_id=message_id, error_code=error_code,
                   reason=f"SMSC: {stat}" if status == "undelivered" else "",
                   raw={"id": message_id, "stat": stat, "err": error_code, "text": text})
