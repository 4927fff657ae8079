"""Domain errors raised by services. Endpoints and forms turn them into clear 4xx answers
that name the field at fault; services raise them before writing anything."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def as_detail(self) -> list[dict]:
        loc = ["body", self.field] if self.field else ["body"]
        return [{"loc": loc, "msg": self.message, "type": self.code}]

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
