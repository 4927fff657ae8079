"""Domain errors raised by services. Endpoints and forms turn them into clear 4xx answers
that name the field at fault; services raise them before writing anything.

A service that checks several fields reports every one it refuses at once: it collects them
with `ErrorCollector` and raises one `FieldErrors`, which the API answers as one 422 with a
`detail` item per field and a dashboard form shows next to each field. Every DomainError has
`errors` (itself, or the several), so callers never need to tell the two apart.

Wording: a message about a field's value starts with the field's name as the API spells it
("smart_sending_hours must be …"); a dashboard form shows it with the field's label in place
of that name ("Smart sending (hours) must be …", common/dashboard.py)."""
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


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

    @property
    def errors(self) -> list["DomainError"]:
        """The single errors this one stands for: itself (FieldErrors: each of its fields)."""
        return [self]


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


class FieldErrors(FieldError):
    """Several refused fields at once. Its message joins theirs (for logs and the command
    line); `errors` and the API detail list each one with its own field."""

    def __init__(self, errors: list[DomainError]):
        self._errors = [single for error in errors for single in error.errors]
        if not self._errors:
            raise ValueError("FieldErrors needs at least one error")
        first = self._errors[0]
        super().__init__("; ".join(e.message for e in self._errors), field=first.field)
        statuses = {e.status_code for e in self._errors}
        self.status_code = statuses.pop() if len(statuses) == 1 else FieldError.status_code

    @property
    def errors(self) -> list[DomainError]:
        return list(self._errors)

    def as_detail(self) -> list[dict]:
        return [item for error in self._errors for item in error.as_detail()]


class ErrorCollector:
    """Run several checks, keep every DomainError they raise, then raise them together:

        errors = ErrorCollector()
        clean["currency"] = errors.collect(clean_currency, value)   # None when refused
        with errors.catching():
            check_window(...)
        errors.raise_if_any()                                          # before anything is written
    """

    def __init__(self) -> None:
        self.found: list[DomainError] = []

    def __bool__(self) -> bool:
        return bool(self.found)

    def add(self, error: DomainError) -> None:
        self.found.extend(error.errors)

    def fields(self) -> set[str | None]:
        return {error.field for error in self.found}

    def collect(self, check: Callable[..., Any], *args, **kwargs) -> Any:
        try:
            return check(*args, **kwargs)
        except DomainError as exc:
            self.add(exc)
            return None

    @contextmanager
    def catching(self) -> Iterator[None]:
        try:
            yield
        except DomainError as exc:
            self.add(exc)

    def raise_if_any(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise FieldErrors(self.found)
