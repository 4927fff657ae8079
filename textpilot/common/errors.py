"""Domain errors raised by services. Endpoints and forms turn them into clear 4xx answers
that name the field at fault; services raise them before writing anything."""
import re


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def as_detail(self) -> list[dict]:
        return [{"loc": ["body", *field_path(self.field)], "msg": self.message, "type": self.code}]

    @property
    def code(self) -> str:
        return type(self).__name__.lower()


class FieldError(DomainError):
    """A value that breaks a rule (bad phone, unknown time zone, …)."""

    status_code = 422


class Conflict(DomainError):
    """A value that clashes with a stored row (same phone twice in one store, …)."""

    status_code = 409


class NotFound(DomainError):
    status_code = 404


def field_path(field: str | None) -> list[str | int]:
    """A field as the path of a 422's `loc`, as pydantic gives it for the same field of a
    nested payload: "profile.phone" → ["profile", "phone"], "lines[0].quantity" → ["lines", 0, "quantity"]."""
    path: list[str | int] = []
    for part in re.split(r"\.|(?=\[)", field or ""):
        if re.fullmatch(r"\[\d+\]", part):
            path.append(int(part[1:-1]))
        elif part:
            path.append(part)
    return path
