"""A checked segment definition: what definition.validate_definition makes of the JSON once
every rule held. The compiler, the matcher and explain walk these nodes, never the raw JSON:
values are clean (dates parsed, money as Decimal), each condition knows its field (fields.py)
and each node knows its path in the spec's style (`conditions[3].conditions[1]`), which
explain reports and errors name."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from textpilot.segments.context import Window


@dataclass(frozen=True)
class Condition:
    path: str
    field: Any  # fields.Field
    op: str
    value: Any = None
    window: Window | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class EventCondition:
    path: str
    event: str
    op: str
    value: Any
    window: Window | None = None
    where: tuple[tuple[str, Any], ...] = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class SegmentMember:
    """`segment.member` with the other segment's definition resolved and checked."""

    path: str
    segment_id: int
    negated: bool
    definition: "Group"
    raw: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Group:
    path: str
    match: str  # "all" | "any"
    conditions: tuple["Node", ...]
    negate: bool = False


Node = Union[Group, Condition, EventCondition, SegmentMember]


@dataclass(frozen=True)
class Definition:
    """A checked definition: the root group, and the JSON it came from (normalised)."""

    root: Group
    version: int
    source: dict

    def conditions(self):
        """Every leaf condition, depth first (segment.member's inner ones not included)."""
        stack = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Group):
                stack.extend(reversed(node.conditions))
            else:
                yield node

    def needs(self) -> "Needs":
        """Which kinds of facts the matcher reads for this definition (facts.load_facts)."""
        kinds: set[str] = {"profile"}
        events: set[str] = set()
        stack: list = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Group):
                stack.extend(node.conditions)
            elif isinstance(node, SegmentMember):
                stack.append(node.definition)
            elif isinstance(node, EventCondition):
                kinds.add("events")
                events.add(node.event)
            else:
                kinds.update(node.field.needs)
        return Needs(frozenset(kinds), frozenset(events))


# The kinds of facts facts.load_facts can read; a field's `needs` names some of them.
FACT_KINDS = ("profile", "stats", "orders", "checkouts", "opt_ins", "messages", "clicks", "events")


@dataclass(frozen=True)
class Needs:
    kinds: frozenset[str]
    event_names: frozenset[str] | None = None  # None: every event

    @classmethod
    def everything(cls) -> "Needs":
        return cls(frozenset(FACT_KINDS), None)
