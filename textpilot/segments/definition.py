"""Segment definitions: the public JSON format (docs/segment-definitions.md) as pydantic v2
models, and `validate_definition`, which checks a definition against every rule and returns
it as checked nodes (nodes.py) for the compiler, the matcher and explain.

Rules, each refused with the path of the bad node in the spec's style
(`conditions[3].conditions[1].op`) and a message in plain words (`DefinitionError`, a 422):
- the root is a group with `"version": 1`; a group has `match` ("all" or "any"; "all" when
  left out — an extension), at least one condition, and may be negated (`"negate": true`);
- an empty definition is invalid: it never means "everyone";
- at most MAX_CONDITIONS (100) conditions in a definition, groups nested at most MAX_DEPTH
  (10) deep (the root is level 1);
- a field must be in the registry (fields.py) and available; its operator one the field takes;
  its value of the kind the field and operator take (values.py: sizes, dates, money, text
  without NUL or control characters); `within_days` or `between` only on fields that take a
  window, and not both;
- `segment.member` ({"segment_id": n}) needs a resolver (the other segments' definitions by
  id: the Segment service passes one); cycles are refused, and so is a chain of segments that
  expands to more than MAX_EXPANDED_CONDITIONS (1,000) conditions;
- event conditions: an event name (as events are recorded: lowercase, digits, _), a count
  operator and count, an optional window, `where` with at most MAX_WHERE (20) properties
  each equal to text, a number or true/false.
Keys the format does not have are refused (a typo like "feild" must not be ignored).
"""
from __future__ import annotations

import difflib
from typing import Annotated, Any, Callable, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, StrictBool, StrictInt, Tag, ValidationError
from pydantic import Field as PydanticField

from textpilot.common.errors import FieldError
from textpilot.segments import values as check
from textpilot.segments.context import Window
from textpilot.segments.field_types import PRESENCE_OPS
from textpilot.segments.fields import FIELDS, PROPERTY_KEY_RE, field_named, registry_description
from textpilot.segments.nodes import Condition, Definition, EventCondition, Group, SegmentMember

VERSION = 1
MAX_CONDITIONS = 100
MAX_DEPTH = 10
MAX_EXPANDED_CONDITIONS = 1000
MAX_WHERE = 20
MAX_JSON_VALUES = 20_000  # every value in the document, a bound on the work done before any rule
MAX_ERRORS = 20

OPERATORS = ("eq", "neq", "in", "not_in", "contains", "exists", "not_exists", "gt", "gte", "lt", "lte", "between",
             "before", "after", "within_last_days", "not_within_last_days")
COUNT_OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
GROUP_MATCH = ("all", "any")

Resolver = Callable[[int], "dict | None"]


# --- the format --------------------------------------------------------------------------

class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldCondition(_Node):
    field: str = PydanticField(description="a field of the registry, e.g. orders.count or profile.properties.<key>")
    op: str = PydanticField(json_schema_extra={"enum": list(OPERATORS)})
    value: Any = None
    within_days: StrictInt | None = PydanticField(None, description="only what happened in the last N days counts")
    between: list[str] | None = PydanticField(None, description='["2026-01-01", "2026-02-01"]: those dates (store time zone), both included')


class EventConditionModel(_Node):
    event: str
    op: str = PydanticField(json_schema_extra={"enum": list(COUNT_OPERATORS)})
    value: Any = None
    within_days: StrictInt | None = None
    between: list[str] | None = None
    where: dict[str, Any] | None = PydanticField(None, description="event properties that must equal these values")


def _node_kind(node: Any) -> str | None:
    if isinstance(node, dict):
        if "conditions" in node:
            return "group"
        if "event" in node:
            return "event"
        if "field" in node:
            return "field"
    if isinstance(node, BaseModel):
        return {"GroupModel": "group", "EventConditionModel": "event", "FieldCondition": "field"}.get(type(node).__name__)
    return None


class GroupModel(_Node):
    match: Literal["all", "any"] = "all"
    negate: StrictBool = False
    conditions: list[Annotated[Union[Annotated["GroupModel", Tag("group")], Annotated[FieldCondition, Tag("field")],
                                     Annotated[EventConditionModel, Tag("event")]],
                               Discriminator(_node_kind, custom_error_type="node_kind",
                                             custom_error_message="must be a group, a field condition or an event condition")]] = \
        PydanticField(min_length=1)


class DefinitionModel(GroupModel):
    version: Literal[1]


GroupModel.model_rebuild()
DefinitionModel.model_rebuild()


def definition_json_schema() -> dict:
    """The JSON Schema of a definition (for GET /api/v1/segments/schema), with the field
    registry (`x-fields`: operators, value kinds, availability) and the limits."""
    schema = DefinitionModel.model_json_schema()
    schema["title"] = "Segment definition"
    schema["x-fields"] = registry_description()
    schema["x-limits"] = {"conditions": MAX_CONDITIONS, "depth": MAX_DEPTH, "expanded_conditions": MAX_EXPANDED_CONDITIONS,
                          "where": MAX_WHERE, "list_items": check.MAX_LIST, "text": check.MAX_TEXT}
    return schema


# --- errors ------------------------------------------------------------------------------

class DefinitionError(FieldError):
    """An invalid definition: `problems` lists each with its path and plain words. (`errors`
    is DomainError's: this one error, for the field `definition`.)"""

    def __init__(self, errors: list[dict]):
        self.problems = errors[:MAX_ERRORS]
        first = self.problems[0]
        where = f"{first['path']}: " if first["path"] else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{where}{first['message']}{more}", field="definition")

    def as_detail(self, prefix: tuple = ("body", "definition")) -> list[dict]:
        return [{"loc": [*prefix, *error["loc"]], "msg": error["message"], "type": "segment_definition"}
                for error in self.problems]


def _path(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Problems:
    def __init__(self):
        self.items: list[dict] = []

    def add(self, loc: tuple, message: str) -> None:
        self.items.append({"path": _path(loc), "loc": list(loc), "message": message})


_PYDANTIC_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not part of a segment definition",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "node_kind": "must be a group (with \"conditions\"), a field condition (with \"field\") or an event condition (with \"event\")",
}


def _pydantic_problems(exc: ValidationError, problems: _Problems) -> None:
    for error in exc.errors():
        cleaned: list = []
        skipped_at = -1
        for part in error["loc"]:
            after_index = len(cleaned) >= 2 and isinstance(cleaned[-1], int) and cleaned[-2] == "conditions"
            if part in ("group", "field", "event") and after_index and skipped_at != len(cleaned):
                skipped_at = len(cleaned)
                continue  # the union tag pydantic adds after a list index
            cleaned.append(part)
        kind = error["type"]
        if kind == "literal_error" and cleaned and cleaned[-1] == "version":
            message = f"must be {VERSION}"
        elif kind == "literal_error":
            message = 'must be "all" or "any"'
        elif kind == "too_short" and cleaned and cleaned[-1] == "conditions":
            message = "is empty: a group needs at least one condition"
        elif kind in ("int_parsing", "int_from_float"):
            message = "must be a whole number"
        else:
            message = _PYDANTIC_MESSAGES.get(kind, error["msg"])
        problems.add(tuple(cleaned), message)


def _prescan(data: Any, problems: _Problems) -> bool:
    """Bound the work before any other rule (size, nesting, number of conditions) without
    recursion, so a hostile document cannot exhaust the stack or the CPU."""
    if not isinstance(data, dict):
        problems.add((), "a segment definition must be a JSON object")
        return False
    values, leaves = 0, 0
    stack: list[tuple[Any, tuple, int]] = [(data, (), 1)]
    while stack:
        node, loc, depth = stack.pop()
        values += 1
        if values > MAX_JSON_VALUES:
            problems.add((), f"the definition is too large (more than {MAX_JSON_VALUES:,} values)")
            return False
        if isinstance(node, dict):
            is_group = isinstance(node.get("conditions"), list)
            if is_group and depth > MAX_DEPTH:
                problems.add(loc, f"groups are nested more than {MAX_DEPTH} levels deep")
                return False
            for key, item in node.items():
                child_depth = depth + 1 if is_group and key == "conditions" else depth
                stack.append((item, (*loc, key), child_depth))
            if not is_group and len(loc) >= 2 and isinstance(loc[-1], int) and loc[-2] == "conditions":
                leaves += 1
        elif isinstance(node, list):
            if len(loc) > 64:
                problems.add(loc, "is nested too deeply")
                return False
            for index, item in enumerate(node):
                stack.append((item, (*loc, index), depth))
    if leaves > MAX_CONDITIONS:
        problems.add(("conditions",), f"has {leaves} conditions; a segment takes at most {MAX_CONDITIONS}")
        return False
    return True


# --- the rules ---------------------------------------------------------------------------

class _Walk:
    def __init__(self, resolver: Resolver | None, problems: _Problems, chain: tuple[int, ...], budget: list[int]):
        self.resolver, self.problems, self.chain, self.budget = resolver, problems, chain, budget

    def group(self, model: GroupModel, loc: tuple) -> Group | None:
        nodes = []
        for index, child in enumerate(model.conditions):
            node = self.node(child, (*loc, "conditions", index))
            if node is not None:
                nodes.append(node)
        if len(nodes) != len(model.conditions):
            return None
        return Group(_path(loc), model.match, tuple(nodes), model.negate)

    def node(self, model, loc: tuple):
        if isinstance(model, GroupModel):
            return self.group(model, loc)
        self.budget[0] += 1
        if self.budget[0] > MAX_EXPANDED_CONDITIONS:
            if not self.problems.items:  # stop the work; the segment.member above names the problem
                self.problems.add(loc, f"more than {MAX_EXPANDED_CONDITIONS:,} conditions once segments are expanded")
            return None
        if isinstance(model, EventConditionModel):
            return self.event(model, loc)
        return self.condition(model, loc)

    def _window(self, model, loc: tuple) -> tuple[bool, Window | None]:
        if model.within_days is not None and model.between is not None:
            self.problems.add((*loc, "between"), "give within_days or between, not both")
            return False, None
        try:
            if model.within_days is not None:
                return True, Window(days=check.days(model.within_days, "within_days"))
            if model.between is not None:
                first, last = check.pair(model.between, check.date, "between")
                return True, Window(first=first, last=last)
        except check.ValueProblem as problem:
            self.problems.add((*loc, "within_days" if model.within_days is not None else "between"), problem.message)
            return False, None
        return True, None

    def condition(self, model: FieldCondition, loc: tuple):
        too_long = len(model.field) > check.MAX_TEXT
        junk = None if too_long else check.junk_in(model.field)
        field = None if junk or too_long else field_named(model.field.strip())
        if field is None:
            self.problems.add((*loc, "field"), _unknown_field(model.field, junk))
            return None
        if field.unavailable:
            self.problems.add((*loc, "field"), f"{field.name} {field.unavailable}")
            return None
        if model.op not in field.operators:
            known = "is not an operator" if model.op not in OPERATORS else f"is not an operator {field.name} takes"
            self.problems.add((*loc, "op"), f"{model.op!r} {known}; it takes {', '.join(field.operators)}")
            return None
        ok, window = self._window(model, loc)
        if not ok:
            return None
        if window is not None and not field.windowed:
            self.problems.add((*loc, "within_days" if window.days is not None else "between"),
                              f"{field.name} takes no time window")
            return None
        if "value" not in model.model_fields_set and model.op not in PRESENCE_OPS:
            self.problems.add((*loc, "value"), f"is required for {model.op}")
            return None
        if field.name == "segment.member":
            return self.member(model, loc)
        try:
            value = field.clean(model.op, model.value)
        except check.ValueProblem as problem:
            self.problems.add((*loc, "value"), problem.message)
            return None
        return Condition(_path(loc), field, model.op, value, window, model.model_dump(exclude_unset=True))

    def event(self, model: EventConditionModel, loc: tuple):
        from textpilot.events.service import EVENT_NAME_RE

        name = model.event.strip()
        if len(name) > check.MAX_TEXT or check.junk_in(name) or not EVENT_NAME_RE.match(name):
            self.problems.add((*loc, "event"), f"{model.event[:80]!r} is not an event name (lowercase letters, digits and _, "
                                               "like viewed_product)")
            return None
        if model.op not in COUNT_OPERATORS:
            self.problems.add((*loc, "op"), f"{model.op!r} is not a count operator; an event condition takes "
                                            f"{', '.join(COUNT_OPERATORS)}")
            return None
        ok, window = self._window(model, loc)
        if not ok:
            return None
        try:
            value = check.pair(model.value, check.count) if model.op == "between" else check.count(model.value, "value")
        except check.ValueProblem as problem:
            self.problems.add((*loc, "value"), problem.message if "value" in model.model_fields_set else "is required")
            return None
        where = []
        if model.where:
            if len(model.where) > MAX_WHERE:
                self.problems.add((*loc, "where"), f"has more than {MAX_WHERE} properties")
                return None
            for key, item in model.where.items():
                if check.junk_in(key) or not PROPERTY_KEY_RE.match(key) or key != key.strip():
                    self.problems.add((*loc, "where", key[:80]), "is not a usable property name")
                    return None
                try:
                    where.append((key, check.json_scalar(item)))
                except check.ValueProblem as problem:
                    self.problems.add((*loc, "where", key), problem.message)
                    return None
        return EventCondition(_path(loc), name, model.op, value, window, tuple(sorted(where)), model.model_dump(exclude_unset=True))

    def member(self, model: FieldCondition, loc: tuple):
        value = model.value
        if not isinstance(value, dict) or set(value) != {"segment_id"}:
            self.problems.add((*loc, "value"), 'must be {"segment_id": n}')
            return None
        try:
            segment_id = check.row_id(value["segment_id"], "segment_id")
        except check.ValueProblem as problem:
            self.problems.add((*loc, "value", "segment_id"), problem.message)
            return None
        if self.resolver is None:
            self.problems.add((*loc, "field"), "segment.member cannot be checked here: no other segments were given")
            return None
        if segment_id in self.chain:
            cycle = " → ".join(str(pk) for pk in (*self.chain[self.chain.index(segment_id):], segment_id))
            self.problems.add((*loc, "value", "segment_id"), f"segment {segment_id} refers back to itself ({cycle})")
            return None
        other = self.resolver(segment_id)
        if other is None:
            self.problems.add((*loc, "value", "segment_id"), f"there is no segment {segment_id} in this store")
            return None
        inner = _Problems()
        checked = _check(other, self.resolver, inner, (*self.chain, segment_id), self.budget)
        if self.budget[0] > MAX_EXPANDED_CONDITIONS:
            self.problems.add((*loc, "value", "segment_id"),
                              f"segment {segment_id} and the segments it uses add up to more than {MAX_EXPANDED_CONDITIONS:,} conditions")
            return None
        if checked is None:
            first = inner.items[0]
            self.problems.add((*loc, "value", "segment_id"),
                              f"segment {segment_id} is not valid: {first['path'] + ': ' if first['path'] else ''}{first['message']}")
            return None
        return SegmentMember(_path(loc), segment_id, model.op == "neq", checked.root, model.model_dump(exclude_unset=True))


def _unknown_field(name: str, junk: str | None) -> str:
    if junk:
        return f"the field name {junk}"
    close = difflib.get_close_matches(name[:100], list(FIELDS), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    if name.startswith("profile.properties."):
        return "is not a usable property name (letters, digits, space, _ - . :, up to 64)"
    return f"{name[:80]!r} is not a field{hint}"


def _check(data: Any, resolver: Resolver | None, problems: _Problems, chain: tuple[int, ...], budget: list[int]) -> Definition | None:
    if not _prescan(data, problems):
        return None
    try:
        model = DefinitionModel.model_validate(data)
    except ValidationError as exc:
        _pydantic_problems(exc, problems)
        return None
    walk = _Walk(resolver, problems, chain, budget)
    root = walk.group(model, ())
    if root is None or problems.items:
        return None
    return Definition(root, model.version, data)


def validate_definition(data: Any, resolver: Resolver | None = None, segment_id: int | None = None) -> Definition:
    """The definition checked (nodes.Definition), or DefinitionError naming every bad node.

    `resolver(segment_id)` returns another segment's definition (JSON) in the same store, or
    None; `segment_id` is the id of the segment being saved, so that referring to itself,
    directly or through others, is refused."""
    problems = _Problems()
    checked = _check(data, resolver, problems, (segment_id,) if segment_id else (), [0])
    if checked is None:
        if not problems.items:  # pragma: no cover - every refusal above adds a problem
            problems.add((), "the definition is not valid")
        raise DefinitionError(problems.items)
    return checked


def as_definition(data: Any, resolver: Resolver | None = None) -> Definition:
    """A checked definition as it is, or the JSON checked now."""
    return data if isinstance(data, Definition) else validate_definition(data, resolver)
