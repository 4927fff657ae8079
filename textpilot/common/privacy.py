"""The privacy and merge registry: every app that keeps personal data registers how to export
it, erase it and re-point it when two profiles merge. `profiles.service` iterates the
registry; it never imports the apps above it (they register in their `AppConfig.ready()`).

A handler names the models it `covers`; `tests/profiles/test_privacy_registry.py` lists
every model with a profile reference or a personal column and fails if none covers it (or if
it is not declared `not_personal` with a reason)."""
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import phonenumbers


@dataclass(frozen=True)
class Erasure:
    """One erase request, as every handler sees it: the person's profiles (the one asked
    for and every profile merged into it) and every identifier they ever had."""

    store: Any
    profile_ids: tuple[int, ...]
    needles: frozenset[str] = frozenset()  # phones, emails, external ids (current and former)
    phones: frozenset[str] = frozenset()  # the E.164 numbers among them

    @cached_property
    def phone_digits(self) -> frozenset[str]:
        """The national part of each number (e.g. 4155552671), however a file formatted it."""
        found = set()
        for phone in self.phones:
            try:
                found.add(str(phonenumbers.parse(phone, None).national_number))
            except phonenumbers.NumberParseException:
                continue
        return frozenset(found)

    def mentions(self, text: str) -> bool:
        """Does this text (a payload, a CSV line, a property) mention the person?"""
        lowered = text.lower()
        if any(needle.lower() in lowered for needle in self.needles):
            return True
        if not self.phone_digits:
            return False
        digits = re.sub(r"\D", "", text)
        return any(d in digits for d in self.phone_digits)


@dataclass(frozen=True)
class PersonalDataHandler:
    name: str
    covers: tuple[str, ...]  # model labels, e.g. "events.Event"
    # export(store, profile_ids) -> {section name: JSON-able data}
    export: Callable[[Any, list[int]], dict] | None = None
    # erase(erasure) -> how many rows or files it changed
    erase: Callable[[Erasure], int | None] | None = None
    # repoint(store, source_profile_id, target_profile_id): a merge moves rows to the survivor
    repoint: Callable[[Any, int, int], None] | None = None


@dataclass
class _Registry:
    handlers: dict[str, PersonalDataHandler] = field(default_factory=dict)
    not_personal: dict[str, str] = field(default_factory=dict)  # model label -> why no handler is needed


_registry = _Registry()


def register(name: str, *, covers: tuple[str, ...] | list[str], export=None, erase=None, repoint=None) -> None:
    """Called once per app from `AppConfig.ready()`. Handlers run in registration order
    (INSTALLED_APPS order), so lower layers are erased before the ones built on them."""
    _registry.handlers[name] = PersonalDataHandler(name, tuple(covers), export, erase, repoint)


def declare_not_personal(model_label: str, reason: str) -> None:
    """A model that looks personal (a phone column, a profile reference) but is not: say why."""
    _registry.not_personal[model_label] = reason


def handlers() -> list[PersonalDataHandler]:
    return list(_registry.handlers.values())


def covered_models() -> dict[str, str]:
    """model label -> the handler (or the not-personal reason) that accounts for it."""
    covered = {label: f"not personal: {why}" for label, why in _registry.not_personal.items()}
    for handler in _registry.handlers.values():
        covered.update({label: handler.name for label in handler.covers})
    return covered


def export_sections(store, profile_ids: list[int]) -> dict:
    sections: dict = {}
    for handler in handlers():
        if handler.export is not None:
            sections.update(handler.export(store, profile_ids))
    return sections


def erase_everywhere(erasure: Erasure) -> dict[str, int]:
    return {h.name: (h.erase(erasure) or 0) for h in handlers() if h.erase is not None}


def repoint_everywhere(store, source_id: int, target_id: int) -> None:
    for handler in handlers():
        if handler.repoint is not None:
            handler.repoint(store, source_id, target_id)
