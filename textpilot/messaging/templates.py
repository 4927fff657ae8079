"""Merge tags: message bodies are Liquid templates (`Hi {{ first_name | default: "there" }}`).

- `validate_template` runs when a template is saved: a syntax error, an unknown variable, tag
  or filter is a TemplateError (a FieldError: 422 naming the field, with line and column), so
  a broken template never reaches send time.
- `compile_template` parses once; `CompiledTemplate.render` renders many (a campaign renders
  the same template for every recipient). A failure for one recipient raises
  TemplateRenderError, which the sender catches per message.
- The seed documents' `{FirstName}`-style tags are translated to Liquid before parsing.

Templates run sandboxed: the context holds only plain dicts and strings built by
`merge_context.build_context` (Liquid reads items, never Python attributes), include/render
are refused, and loops, output, assigned data and nesting are capped.
"""
from __future__ import annotations

import difflib
import re
from decimal import Decimal
from functools import lru_cache
from typing import Mapping, NamedTuple

from liquid import Environment, Mode, StrictDefaultUndefined
from liquid.builtin.content import ContentNode
from liquid.builtin.expressions import FilteredExpression, Path
from liquid.builtin.expressions.primitive import StringLiteral
from liquid.builtin.output import OutputNode
from liquid.exceptions import LiquidError

from textpilot.common.errors import FieldError
from textpilot.messaging.encoding import MAX_BODY_CHARACTERS
from textpilot.messaging.merge_context import CONTEXT_KINDS, SEED_TAGS, allowed_paths


class TemplateError(FieldError):
    """A template that cannot be saved. `line`/`column` are 1-based, in the text as written."""

    def __init__(self, message: str, field: str, line: int | None = None, column: int | None = None):
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(where + message, field=field)
        self.line, self.column = line, column

    @property
    def code(self) -> str:
        return "invalid_template"

    def as_detail(self) -> list[dict]:
        detail = super().as_detail()
        if self.line is not None:
            detail[0].update(line=self.line, column=self.column)
        return detail


class TemplateRenderError(Exception):
    """Rendering failed for one recipient (missing data, a sandbox limit…): fail that message
    with `reason`, never the batch."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SandboxedEnvironment(Environment):
    # An SMS is at most 1,600 characters: nothing legitimate needs more than this.
    loop_iteration_limit = 1_000
    output_stream_limit = 10 * MAX_BODY_CHARACTERS
    local_namespace_limit = 32 * 1024  # bytes held by {% assign %}/{% capture %} values
    context_depth_limit = 10
    block_nesting_limit = 10


ENVIRONMENT = SandboxedEnvironment(tolerance=Mode.STRICT, undefined=StrictDefaultUndefined, strict_filters=True)
# Everything else (include, render, tablerow…) is refused: templates cannot load other
# templates and an SMS has no use for HTML tables.
ALLOWED_TAGS = frozenset(
    {"if", "unless", "case", "for", "break", "continue", "assign", "capture", "comment", "#",
     "liquid", "echo", "cycle", "increment", "decrement"}
)


# --- The seed documents' {FirstName} style ------------------------------------------------

# Liquid markup, and whole {% raw %} blocks (whose content is text the author wants verbatim).
_LIQUID_MARKUP_RE = re.compile(r"({%-?\s*raw\s*-?%}.*?{%-?\s*endraw\s*-?%}|{{.*?}}|{%.*?%})", re.DOTALL)
_SEED_TAG_RE = re.compile(r"(?<!\{)\{([A-Za-z]+)\}(?!\})")
# Unknown names are only reported when they look like a mistyped tag ({FristName}), so that
# a literal "{Sale}" or "{NEW}" in a text stays text.
_LOOKS_LIKE_SEED_TAG_RE = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]*)+")


class Translation(NamedTuple):
    source: str  # Liquid
    # (start, end) in the original text and (start, end) in `source` of each replaced tag,
    # to report errors at the position the author sees.
    replacements: tuple[tuple[int, int, int, int], ...]
    unknown_seed_tags: tuple[tuple[str, int], ...]  # (name, index in the original text)

    def original_span(self, index: int) -> tuple[int, int | None]:
        """Where `index` of `source` was in the original text: (index, None), or the start
        and end of the seed-style tag it was translated from."""
        shift = 0
        for original_start, original_end, start, end in self.replacements:
            if index < start:
                break
            if index < end:
                return original_start, original_end
            shift = end - original_end
        return index - shift, None


def translate_seed_tags(text: str) -> Translation:
    """Rewrite `{FirstName}`-style tags outside Liquid markup as Liquid output statements."""
    pieces, replacements, unknown = [], [], []
    original = translated = 0
    for piece in _LIQUID_MARKUP_RE.split(text):
        is_markup = piece.startswith(("{{", "{%")) and _LIQUID_MARKUP_RE.fullmatch(piece)
        cursor = 0
        for match in () if is_markup else _SEED_TAG_RE.finditer(piece):
            name = match.group(1)
            if name not in SEED_TAGS:
                if _LOOKS_LIKE_SEED_TAG_RE.fullmatch(name):
                    unknown.append((name, original + match.start()))
                continue
            liquid = "{{ " + SEED_TAGS[name] + " }}"
            pieces.append(piece[cursor:match.start()])
            translated += match.start() - cursor
            replacements.append((original + match.start(), original + match.end(), translated, translated + len(liquid)))
            pieces.append(liquid)
            translated += len(liquid)
            cursor = match.end()
        pieces.append(piece[cursor:])
        translated += len(piece) - cursor
        original += len(piece)
    return Translation("".join(pieces), tuple(replacements), tuple(unknown))


# --- Compile and render -------------------------------------------------------------------

_NO_DEFAULT = object()


class CompiledTemplate:
    """A parsed template; `render(context)` is safe to call from many threads."""

    def __init__(self, text: str, field: str = "body"):
        self.text = text
        self.translation = translate_seed_tags(text)
        self.template = _parse(self.translation, text, field)
        self._plan = _simple_plan(self.template.nodes)

    def render(self, context: Mapping) -> str:
        try:
            rendered = self._render_plan(context) if self._plan is not None else None
            if rendered is None:
                rendered = self.template.render(context)
        except LiquidError as exc:
            raise TemplateRenderError(str(exc.message)) from exc
        except Exception as exc:  # a filter meeting odd data must fail this message only
            raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc
        if len(rendered) > MAX_BODY_CHARACTERS:
            raise TemplateRenderError(f"the rendered text has {len(rendered)} characters; the most is {MAX_BODY_CHARACTERS}")
        return rendered

    def _render_plan(self, context: Mapping) -> str | None:
        """Most SMS templates are text and variables with an optional `default`. Render those
        without Liquid's machinery (several times faster); return None to hand anything
        unusual (a missing key, a list, an object) to Liquid, which then decides."""
        parts = []
        for item in self._plan:
            if item.__class__ is str:
                parts.append(item)
                continue
            path, default = item
            value = context
            for key in path:
                if value.__class__ is not dict or key not in value:
                    return None
                value = value[key]
            kind = value.__class__
            if kind is str:
                if not value and default is not _NO_DEFAULT:
                    value = default
            elif value is None or value is False:
                value = default if default is not _NO_DEFAULT else ("" if value is None else "false")
            elif value is True:
                value = "true"
            elif kind is int or kind is Decimal or kind is float:
                value = str(value)  # Liquid's `default` keeps 0: numbers are never "empty"
            else:
                return None
            parts.append(value)
        rendered = "".join(parts)
        if "\r" in rendered:
            # Liquid's limited output stream uses universal newlines: match it exactly.
            rendered = rendered.replace("\r\n", "\n").replace("\r", "\n")
        return rendered


def _simple_plan(nodes: list) -> tuple | None:
    """Literal strings and (path, default) pairs, or None when the template uses anything else."""
    plan = []
    for node in nodes:
        if type(node) is ContentNode:
            plan.append(node.text)
            continue
        if type(node) is not OutputNode:
            return None
        expression = node.expression
        if type(expression) is not FilteredExpression or type(expression.left) is not Path:
            return None
        path = expression.left.path
        if not all(type(segment) is str for segment in path):
            return None
        default = _NO_DEFAULT
        for filter_ in expression.filters or ():
            if filter_.name != "default" or len(filter_.args) != 1 or default is not _NO_DEFAULT:
                return None
            argument = filter_.args[0]
            if getattr(argument, "name", None) or type(getattr(argument, "value", None)) is not StringLiteral:
                return None
            default = argument.value.value
        plan.append((tuple(path), default))
    return tuple(plan)


def _parse(translation: Translation, text: str, field: str):
    try:
        return ENVIRONMENT.from_string(translation.source)
    except LiquidError as exc:
        raise _positioned_error(translation, text, str(exc.message), _index(exc), field) from None


@lru_cache(maxsize=1024)
def compile_template(text: str) -> CompiledTemplate:
    """Parse once (cached by text), render many. Raises TemplateError on a syntax error."""
    return CompiledTemplate(text)


# --- Validation at save time --------------------------------------------------------------


class TemplateInfo(NamedTuple):
    liquid: str  # the template as Liquid (seed-style tags translated)
    variables: tuple[str, ...]  # merge tags used, e.g. ("first_name", "store.name")


def validate_template(text: str, context_kind: str = "all", field: str = "body") -> TemplateInfo:
    """Refuse a template that would fail or misbehave at send time: a syntax error, a merge
    tag the `context_kind` does not provide, a refused tag, an unknown filter."""
    if context_kind not in CONTEXT_KINDS:
        raise FieldError(f"context_kind must be one of {', '.join(CONTEXT_KINDS)}", field="context_kind")
    translation = translate_seed_tags(text)
    for name, index in translation.unknown_seed_tags:
        known = ", ".join("{" + tag + "}" for tag in SEED_TAGS)
        message = f"unknown merge tag {{{name}}}{_did_you_mean(name, SEED_TAGS)}; known: {known}"
        raise _error_at(text, index, message, field)
    analysis = _parse(translation, text, field).analyze(include_partials=False)

    for tag, spans in analysis.tags.items():
        if tag not in ALLOWED_TAGS:
            raise _positioned_error(translation, text, f"the tag '{tag}' is not allowed in messages", spans[0].index, field)
    for name, spans in analysis.filters.items():
        if name not in ENVIRONMENT.filters:
            hint = _did_you_mean(name, ENVIRONMENT.filters)
            raise _positioned_error(translation, text, f"unknown filter '{name}'{hint}", spans[0].index, field)

    allowed, tags = allowed_paths(context_kind), CONTEXT_KINDS[context_kind]
    used = []
    for occurrences in analysis.globals.values():
        for variable in occurrences:
            path = str(variable)
            if path not in allowed:
                available = f"; available in {context_kind} messages: {', '.join(tags)}"
                message = f"unknown merge tag '{path}'{_did_you_mean(path, tags)}{available}"
                raise _positioned_error(translation, text, message, variable.span.index, field)
            if path not in used:
                used.append(path)
    return TemplateInfo(translation.source, tuple(used))


def _did_you_mean(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _index(exc: LiquidError) -> int | None:
    token = exc.token
    return token.start_index if token is not None and token.start_index >= 0 else None


def _positioned_error(translation: Translation, text: str, message: str, index: int | None, field: str) -> TemplateError:
    if index is None:  # Liquid only knew the template ended too early (an unclosed block)
        return _error_at(text, len(text), message + " (at the end of the template)", field)
    start, seed_tag_end = translation.original_span(index)
    if seed_tag_end is not None:
        message += f" (written as {text[start:seed_tag_end]})"
    return _error_at(text, start, message, field)


def _error_at(text: str, index: int, message: str, field: str) -> TemplateError:
    before = text[:index]
    line = before.count("\n") + 1
    column = index - (before.rfind("\n") + 1) + 1
    return TemplateError(message, field, line, column)
