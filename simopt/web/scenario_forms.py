"""Scenarios in forms: which fields each section of the edit page shows, how a posted form
becomes edits of the scenario's parsed data (its ``{value, source, range}`` notes kept), how the
loader's error finds its field again, and how two versions differ.

**Fields.** A section (:data:`SECTIONS`) lists :class:`FieldSpec` s built from the scenario as it
is (its groups, pools, courses, targets…): each names a path in the data, a kind (a number, a
level table, a list of months, text, group check boxes, ``where`` conditions, a choice) and
whether it carries a source note, a range (the numbers the simulator draws,
:func:`simopt.uncertain.spec.is_drawn_scalar`) or a concentration (level tables). Form inputs
are named by the dotted path: ``courses.level4.exam_pass_probability`` for the value, and
``…@source``, ``…@low``, ``…@high``, ``…@conc``, ``…@L0`` … ``…@L6`` beside it.

**Edits** (:func:`apply_form`). Only what differs from the scenario is written, so a form sent
back unchanged changes nothing. As ``simopt.overrides._set`` does, a note on the way is looked
through: setting a value keeps the note's source and range (unless those inputs changed too); a
bare number gets a note only when it is given a source or a range. An emptied optional field is
removed (its default applies). The edited data is then validated whole by
:func:`simopt.scenario.build_scenario`; its :class:`~simopt.errors.ScenarioError` is mapped back
to the field its path names (:func:`field_for_error`) and its rule said in the user's language
where the catalogue knows it (:func:`rule_text`).

**Differences** (:func:`diff`): two parsed data trees flattened to leaves (value and source, and a
note's range as a leaf of its own) and compared path by path.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_decimal

from simopt.errors import ScenarioError, printable
from simopt.reporting.i18n import Messages
from simopt.scenario import MAX_LEVEL, Scenario, build_scenario
from simopt.uncertain.spec import is_drawn_mix, is_drawn_scalar
from simopt.yamlio import ASSUMPTION, NOTE_KEYS, UNCERTAINTY_KEYS, is_note, parse_yaml_text

SECTIONS: tuple[str, ...] = ("groups", "courses", "exams", "funding", "budget", "targets")
"""The edit pages of a scenario, in the order of its tabs."""

MISSING: Any = object()
"""A field the data does not hold (its default applies)."""

MAX_INPUT_CHARS = 2000
"""Longest text one input may hold (a source note is a sentence or two)."""

NEW_ENVELOPE = "new_envelope"
"""The form's prefix for the blank envelope row of the budget section."""

LEVELS: tuple[int, ...] = tuple(range(MAX_LEVEL + 1))

SUFFIXES = ("source", "low", "high", "conc")


def load_data(text: str, *, file: str = "<scenario>") -> dict[str, Any]:
    """A scenario's YAML as the loader reads it (notes kept): a mapping, else ScenarioError."""
    data, _ = parse_yaml_text(text, file=file)
    if not isinstance(data, dict):
        raise ScenarioError("a scenario must be a YAML mapping of fields", file=file)
    return data


# ----------------------------------------------------------------------------- the fields


@dataclass(frozen=True)
class FieldSpec:
    """One editable thing of a section."""

    path: tuple[str | int, ...]
    kind: str
    """``number``, ``table`` (a level table), ``intlist`` (months), ``text``, ``groups`` (check
    boxes), ``where`` (``key=value`` conditions) or ``choice`` (one of ``choices``)."""
    label: str
    """Catalogue key of the row's label."""
    label_fields: tuple[tuple[str, str], ...] = ()
    fmt: str = ""
    """How the number's hint is written: ``vnd``, ``share``, ``count`` or nothing."""
    optional: bool = True
    """Empty removes it (its default applies); else empty is refused."""
    noted: bool = False
    """Carries a source note (every number does)."""
    ranged: bool = False
    mixed: bool = False
    choices: tuple[str, ...] = ()
    name: str = ""
    """The form's name for it, when not its dotted path (the blank envelope row)."""

    @property
    def dotted(self) -> str:
        return ".".join(str(p) for p in self.path)

    @property
    def key(self) -> str:
        return self.name or self.dotted


@dataclass(frozen=True)
class Block:
    """A heading and its fields: a pool, a course, a target…"""

    title: str
    """Catalogue key."""
    title_fields: tuple[tuple[str, str], ...]
    fields: tuple[FieldSpec, ...]
    level: int = 2


def _number(
    path: tuple[str | int, ...],
    label: str,
    *,
    fmt: str = "",
    optional: bool = True,
    label_fields: tuple[tuple[str, str], ...] = (),
) -> FieldSpec:
    dotted = ".".join(str(p) for p in path)
    return FieldSpec(
        path,
        "number",
        label,
        label_fields,
        fmt=fmt,
        optional=optional,
        noted=True,
        ranged=is_drawn_scalar(dotted),
    )


def _table(path: tuple[str | int, ...], label: str, *, fmt: str) -> FieldSpec:
    dotted = ".".join(str(p) for p in path)
    return FieldSpec(path, "table", label, fmt=fmt, noted=True, mixed=is_drawn_mix(dotted))


def _text(path: tuple[str | int, ...], label: str) -> FieldSpec:
    return FieldSpec(path, "text", label)


def _label(key: str) -> str:
    return f"web.scenarios.field.{key}"


def section_blocks(scenario: Scenario, section: str, new_envelope_id: str = "") -> list[Block]:
    """The blocks of one section, from the scenario as it is."""
    if section not in SECTIONS:
        raise KeyError(section)
    build: dict[str, Callable[[Scenario], list[Block]]] = {
        "groups": _groups_blocks,
        "courses": _courses_blocks,
        "exams": _exams_blocks,
        "funding": _funding_blocks,
        "targets": _targets_blocks,
    }
    if section == "budget":
        return _budget_blocks(scenario, new_envelope_id)
    return build[section](scenario)


def section_fields(blocks: Iterable[Block]) -> list[FieldSpec]:
    return [f for b in blocks for f in b.fields]


def _groups_blocks(s: Scenario) -> list[Block]:
    blocks: list[Block] = []
    for gid, group in s.groups.items():
        g: tuple[str | int, ...] = ("groups", gid)
        blocks.append(
            Block(
                "web.scenarios.block.group",
                (("id", gid), ("name", group.name)),
                (_text((*g, "name"), _label("name")),),
            )
        )
        for pid, pool in group.pools.items():
            p: tuple[str | int, ...] = (*g, "pools", pid)
            counts = pool.level_counts is not None
            levels = (
                _table((*p, "level_counts"), _label("level_counts"), fmt="count")
                if counts
                else _table((*p, "level_shares"), _label("level_shares"), fmt="share")
            )
            blocks.append(
                Block(
                    "web.scenarios.block.pool",
                    (("id", pid), ("name", pool.name)),
                    (
                        _text((*p, "name"), _label("name")),
                        _number(
                            (*p, "headcount"), _label("headcount"), fmt="count", optional=False
                        ),
                        _number((*p, "excluded"), _label("excluded"), fmt="count"),
                        levels,
                        _number(
                            (*p, "attrition_rate_per_year"),
                            _label("attrition_rate_per_year"),
                            fmt="share",
                        ),
                        _number((*p, "hires_per_year"), _label("hires_per_year"), fmt="count"),
                        _table((*p, "hire_level_shares"), _label("hire_level_shares"), fmt="share"),
                    ),
                    level=3,
                )
            )
    return blocks


def _courses_blocks(s: Scenario) -> list[Block]:
    groups = tuple(s.groups)
    blocks: list[Block] = []
    for cid, course in s.courses.items():
        c: tuple[str | int, ...] = ("courses", cid)
        blocks.append(
            Block(
                "web.scenarios.block.course",
                (("id", cid), ("name", course.name)),
                (
                    _text((*c, "name"), _label("name")),
                    _number((*c, "entry_level"), _label("entry_level"), optional=False),
                    _number((*c, "target_level"), _label("target_level"), optional=False),
                    _number((*c, "duration_months"), _label("duration_months"), optional=False),
                    _number((*c, "intake_month"), _label("intake_month")),
                    _number(
                        (*c, "tuition_vnd_per_trainee"),
                        _label("tuition_vnd_per_trainee"),
                        fmt="vnd",
                        optional=False,
                    ),
                    _number((*c, "class_size"), _label("class_size"), fmt="count"),
                    _number((*c, "cost_vnd_per_class"), _label("cost_vnd_per_class"), fmt="vnd"),
                    _number((*c, "completion_rate"), _label("completion_rate"), fmt="share"),
                    _number(
                        (*c, "exam_pass_probability"),
                        _label("exam_pass_probability"),
                        fmt="share",
                        optional=False,
                    ),
                    _number((*c, "seats_per_year"), _label("seats_per_year"), fmt="count"),
                    _number((*c, "classes_per_year"), _label("classes_per_year"), fmt="count"),
                    FieldSpec((*c, "groups"), "groups", _label("course_groups"), choices=groups),
                ),
            )
        )
    return blocks


def _exams_blocks(s: Scenario) -> list[Block]:
    e: tuple[str | int, ...] = ("exams",)
    return [
        Block(
            "web.scenarios.block.exams",
            (),
            (
                FieldSpec(
                    (*e, "session_months"),
                    "intlist",
                    _label("session_months"),
                    optional=False,
                    noted=True,
                ),
                _number((*e, "fee_vnd"), _label("fee_vnd"), fmt="vnd"),
                _number((*e, "max_attempts"), _label("max_attempts")),
                _number((*e, "retake_pass_factor"), _label("retake_pass_factor")),
            ),
        )
    ]


def _source_name(s: Scenario, src: str) -> str:
    return s.funding_sources[src].name or src


def _funding_blocks(s: Scenario) -> list[Block]:
    blocks: list[Block] = []
    for gid, group in s.groups.items():
        blocks.append(
            Block(
                "web.scenarios.block.group",
                (("id", gid), ("name", group.name)),
                tuple(
                    _number(
                        ("groups", gid, "funding", src),
                        _label("funding_share"),
                        fmt="share",
                        label_fields=(("source", _source_name(s, src)),),
                    )
                    for src in s.funding_sources
                ),
            )
        )
    return blocks


def _budget_blocks(s: Scenario, new_envelope_id: str) -> list[Block]:
    b: tuple[str | int, ...] = ("budget",)
    sources = tuple(s.funding_sources)
    blocks = [
        Block(
            "web.scenarios.block.ceilings",
            (),
            (
                _number((*b, "ceiling_vnd_per_year"), _label("ceiling_vnd_per_year"), fmt="vnd"),
                _number((*b, "total_ceiling_vnd"), _label("total_ceiling_vnd"), fmt="vnd"),
                _number(
                    (*b, "discount_rate_per_year"), _label("discount_rate_per_year"), fmt="share"
                ),
            ),
        ),
        Block(
            "web.scenarios.block.ceilings_by_year",
            (),
            tuple(
                _number(
                    (*b, "ceiling_vnd_by_year", year),
                    _label("ceiling_in_year"),
                    fmt="vnd",
                    label_fields=(("year", str(year)),),
                )
                for year in s.horizon.years
            ),
        ),
    ]
    if sources:
        blocks.append(
            Block(
                "web.scenarios.block.source_ceilings",
                (),
                tuple(
                    _number(
                        (*b, "source_ceilings_vnd_per_year", src),
                        _label("source_ceiling"),
                        fmt="vnd",
                        label_fields=(("source", _source_name(s, src)),),
                    )
                    for src in sources
                ),
            )
        )
    for eid, envelope in s.budget.envelopes.items():
        blocks.append(
            Block(
                "web.scenarios.block.envelope",
                (("id", eid), ("name", envelope.label)),
                _envelope_fields((*b, "envelopes", eid), sources),
            )
        )
    new_id = new_envelope_id or NEW_ENVELOPE
    new_path: tuple[str | int, ...] = (*b, "envelopes", new_id)
    blocks.append(
        Block(
            "web.scenarios.block.new_envelope",
            (),
            (
                FieldSpec(new_path, "newid", _label("envelope_id"), name=f"{NEW_ENVELOPE}.id"),
                *_envelope_fields(new_path, sources, name=NEW_ENVELOPE),
            ),
        )
    )
    return blocks


def _envelope_fields(
    e: tuple[str | int, ...], sources: tuple[str, ...], *, name: str = ""
) -> tuple[FieldSpec, ...]:
    def named(spec: FieldSpec, leaf: str) -> FieldSpec:
        if not name:
            return spec
        return FieldSpec(
            spec.path,
            spec.kind,
            spec.label,
            spec.label_fields,
            fmt=spec.fmt,
            optional=spec.optional,
            noted=spec.noted,
            ranged=spec.ranged,
            choices=spec.choices,
            name=f"{name}.{leaf}",
        )

    fields = [
        named(_text((*e, "label"), _label("envelope_label")), "label"),
        named(_number((*e, "first_year"), _label("first_year"), optional=False), "first_year"),
        named(_number((*e, "last_year"), _label("last_year"), optional=False), "last_year"),
        named(
            _number((*e, "ceiling_vnd"), _label("ceiling_vnd"), fmt="vnd", optional=False),
            "ceiling_vnd",
        ),
        named(
            FieldSpec((*e, "source"), "choice", _label("envelope_source"), choices=sources),
            "source",
        ),
    ]
    return tuple(fields)


def _targets_blocks(s: Scenario) -> list[Block]:
    groups = tuple(s.groups)
    blocks: list[Block] = []
    for tid, target in s.targets.items():
        t: tuple[str | int, ...] = ("targets", tid)
        blocks.append(
            Block(
                "web.scenarios.block.target",
                (("id", tid), ("name", target.label)),
                (
                    _text((*t, "label"), _label("target_label")),
                    FieldSpec(
                        (*t, "groups"),
                        "groups",
                        _label("target_groups"),
                        optional=False,
                        choices=groups,
                    ),
                    FieldSpec((*t, "where"), "where", _label("where")),
                    _number((*t, "min_level"), _label("min_level"), optional=False),
                    _number((*t, "share"), _label("share"), fmt="share"),
                    _number((*t, "min_count"), _label("min_count"), fmt="count"),
                    _number((*t, "year"), _label("year"), optional=False),
                ),
            )
        )
    return blocks


# ----------------------------------------------------------------------------- the data


def node_at(data: Any, path: Sequence[str | int]) -> Any:
    """The node at ``path`` (a note on the way looked through), or :data:`MISSING`."""
    node = data
    for part in path:
        if is_note(node) and part not in NOTE_KEYS:
            node = node["value"]
        found = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if not found:
            return MISSING
        node = node[part]
    return node


def _locate(data: dict[str, Any], path: Sequence[str | int]) -> tuple[dict[Any, Any], Any]:
    """The mapping that holds the last part of ``path`` and that key; missing mappings on the
    way are made (a field of a model that was left to its default)."""
    node: Any = data
    for part in path[:-1]:
        if is_note(node) and part not in NOTE_KEYS:
            node = node["value"]
        if part not in node or not isinstance(node[part], dict):
            node[part] = {}
        node = node[part]
    if is_note(node) and path[-1] not in NOTE_KEYS:
        node = node["value"]
    return node, path[-1]


@dataclass(frozen=True)
class Current:
    """A field as the scenario holds it: its value, its note (when it has one) and what the
    form shows of its source, range and concentration."""

    value: Any
    note: dict[str, Any] | None
    source: str
    range: tuple[Any, Any] | None
    conc: Any


def current(data: Any, spec: FieldSpec, scenario: Scenario | None = None) -> Current:
    node = node_at(data, spec.path)
    note = node if is_note(node) else None
    value = note["value"] if note is not None else node
    if note is not None:
        source = str(note.get("source", ASSUMPTION))
    elif scenario is not None and spec.kind == "number" and value is not MISSING:
        source = scenario.provenance.source_of(spec.dotted)
    else:
        source = ASSUMPTION
    raw_range = note.get("range") if note is not None else None
    pair = (
        (raw_range[0], raw_range[1])
        if isinstance(raw_range, list | tuple) and len(raw_range) == 2
        else None
    )
    conc = note.get("concentration", MISSING) if note is not None else MISSING
    return Current(value, note, source, pair, conc)


# ----------------------------------------------------------------------------- numbers


_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][-+]?[0-9]{1,3})?")
_WHOLE = re.compile(r"[-+]?[0-9]+")
_GROUPING = str.maketrans("", "", " \u00a0\u202f_")


class FormValueError(ValueError):
    """An input that is not what its field takes: a catalogue key (with its fields)."""

    def __init__(self, key: str, **fields: Any) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


def parse_number(text: str) -> int | float | None:
    """A number as a planner types it: ``16000000``, ``16 000 000``, ``0.6`` or ``0,6``,
    ``2e10``; None when empty. Thousands separated by dots or commas are refused (is
    ``1.500`` fifteen hundred or one and a half?)."""
    t = text.strip().translate(_GROUPING)
    if not t:
        return None
    if len(t) > 40 or not _NUMBER.fullmatch(t):
        raise FormValueError("web.scenarios.form.not_number", text=printable(text.strip(), 40))
    t = t.replace(",", ".")
    if _WHOLE.fullmatch(t):
        return int(t)
    x = float(t)
    if not math.isfinite(x):
        raise FormValueError("web.scenarios.form.not_number", text=printable(text.strip(), 40))
    return x


def number_text(x: Any) -> str:
    """A number as the form shows it, so that sending it back reads the same number."""
    if x is MISSING or x is None:
        return ""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x) if isinstance(x, float) else str(x)


def show_number(m: Messages, x: Any) -> str:
    """A number in the reader's format, every digit kept (175.760.000.000; 0,6)."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return str(format_decimal(x, format="#,##0.##########", locale=m.lang))


def hint(m: Messages, fmt: str, x: Any) -> str:
    """The value as a planner reads it at a glance: 16.000.000 đ, 65.000.000.000 đ (65,00 tỷ
    đồng), 60,0%, 1.346."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return ""
    if fmt == "vnd":
        amount = float(x)
        return f"{m.vnd(amount)} ({m.ty(amount)})" if amount >= 1e9 else m.vnd(amount)
    if fmt == "share":
        return m.share(float(x), 1)
    if fmt == "count":
        return m.number(float(x), 0 if float(x).is_integer() else 1)
    return ""


def _scalar_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _where_text(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    return ", ".join(f"{k}={_scalar_text(v)}" for k, v in value.items())


def _parse_where(text: str) -> dict[str, Any] | None:
    items = [p.strip() for p in re.split(r"[,;\n]", text) if p.strip()]
    if not items:
        return None
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise FormValueError("web.scenarios.form.where_pair", text=printable(item, 40))
        try:
            value, _ = parse_yaml_text(raw.strip(), file="where")
        except ScenarioError:
            value = raw.strip()
        if isinstance(value, dict | list) or value is None:
            value = raw.strip()
        out[key.strip()] = value
    return out


def _parse_intlist(text: str) -> list[int | float] | None:
    parts = [p for p in re.split(r"[,;\s]+", text.strip()) if p]
    if not parts:
        return None
    out: list[int | float] = []
    for part in parts:
        x = parse_number(part)
        if x is not None:
            out.append(x)
    return out


# ----------------------------------------------------------------------------- the form


Form = Mapping[str, Sequence[str]]
"""A posted form: every name with its values (check boxes send several)."""


def _one(form: Form, name: str) -> str | None:
    values = form.get(name)
    if not values:
        return None
    return values[-1][:MAX_INPUT_CHARS]


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _equal(a: Any, b: Any) -> bool:
    if a is MISSING or b is MISSING:
        return a is b
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return bool(a == b)


@dataclass
class Submitted:
    """What the form says of one field, read; ``present`` False when the form does not hold it
    (then it is left as it is)."""

    present: bool
    value: Any = MISSING
    source: str | None = None
    range: tuple[Any, Any] | None = None
    range_given: bool = False
    conc: Any = MISSING
    conc_given: bool = False
    texts: dict[str, str] = field(default_factory=dict)
    """The raw inputs, to show them again beside an error."""


def read_field(
    form: Form, spec: FieldSpec, errors: dict[str, tuple[str, str, dict[str, Any]]]
) -> Submitted:
    """One field's inputs, parsed; a bad input goes into ``errors`` (key → part, catalogue key,
    fields)."""
    key = spec.key
    texts: dict[str, str] = {}
    if spec.kind == "groups":
        if _one(form, f"{key}@present") is None:
            return Submitted(False)
        chosen = [v for v in form.get(key, ()) if v in spec.choices]
        ordered = [g for g in spec.choices if g in chosen]
        return Submitted(
            True, value=ordered if ordered else None, texts={"value": ",".join(ordered)}
        )
    raw = _one(form, key)
    if spec.kind == "table":
        cells = {lvl: _one(form, f"{key}@L{lvl}") for lvl in LEVELS}
        if all(v is None for v in cells.values()):
            return Submitted(False)
        texts = {f"L{lvl}": v or "" for lvl, v in cells.items()}
        table: dict[int, Any] = {}
        for lvl, text in cells.items():
            try:
                x = parse_number(text or "")
            except FormValueError as exc:
                errors.setdefault(key, ("value", exc.key, exc.fields))
                continue
            if x is not None:
                table[lvl] = x
        value: Any = table or None
    else:
        if raw is None:
            return Submitted(False)
        texts["value"] = raw
        try:
            if spec.kind == "number":
                value = parse_number(raw)
            elif spec.kind == "intlist":
                value = _parse_intlist(raw)
            elif spec.kind == "where":
                value = _parse_where(raw)
            elif spec.kind == "choice":
                value = raw if raw in spec.choices else None
            else:
                value = raw.strip() or None
        except FormValueError as exc:
            errors.setdefault(key, ("value", exc.key, exc.fields))
            value = MISSING
    if value is None and not spec.optional:
        errors.setdefault(key, ("value", "web.scenarios.form.required", {}))
    out = Submitted(True, value=value, texts=texts)
    if spec.noted:
        source = _one(form, f"{key}@source")
        if source is not None:
            out.source = source
            texts["source"] = source
    if spec.ranged:
        low_text, high_text = _one(form, f"{key}@low"), _one(form, f"{key}@high")
        if low_text is not None or high_text is not None:
            texts["low"], texts["high"] = low_text or "", high_text or ""
            out.range_given = True
            try:
                low, high = parse_number(low_text or ""), parse_number(high_text or "")
            except FormValueError as exc:
                errors.setdefault(key, ("range", exc.key, exc.fields))
                out.range_given = False
            else:
                if (low is None) != (high is None):
                    errors.setdefault(key, ("range", "web.scenarios.form.range_both", {}))
                    out.range_given = False
                elif low is not None:
                    out.range = (low, high)
    if spec.mixed:
        conc_text = _one(form, f"{key}@conc")
        if conc_text is not None:
            texts["conc"] = conc_text
            try:
                c = parse_number(conc_text)
            except FormValueError as exc:
                errors.setdefault(key, ("conc", exc.key, exc.fields))
            else:
                out.conc = MISSING if c is None else c
                out.conc_given = True
    return out


def apply_field(data: dict[str, Any], spec: FieldSpec, cur: Current, sub: Submitted) -> bool:
    """Write one field's submitted inputs into ``data`` where they differ from ``cur``; whether
    anything changed."""
    if not sub.present or sub.value is MISSING:
        return False
    new_value = MISSING if sub.value is None else sub.value
    value_changed = not _equal(new_value, cur.value)
    source_changed = sub.source is not None and not _same_text(sub.source, cur.source)
    range_changed = sub.range_given and not _equal(
        list(sub.range) if sub.range else None, list(cur.range) if cur.range else None
    )
    conc_changed = sub.conc_given and not _equal(sub.conc, cur.conc)
    if not (value_changed or source_changed or range_changed or conc_changed):
        return False
    container, key = _locate(data, spec.path)
    if new_value is MISSING:
        container.pop(key, None)
        return cur.value is not MISSING
    note = container.get(key) if is_note(container.get(key)) else None
    wants_note = source_changed or bool(sub.range) or (sub.conc_given and sub.conc is not MISSING)
    if note is None and wants_note:
        note = {"value": new_value}
        container[key] = note
        if not source_changed:
            note["source"] = cur.source
    if note is None:
        container[key] = new_value
        return True
    note["value"] = new_value
    if source_changed and sub.source is not None:
        note["source"] = sub.source.strip()
    if range_changed:
        if sub.range is None:
            for k in ("range", "distribution", "sd"):
                note.pop(k, None)
        else:
            note["range"] = [sub.range[0], sub.range[1]]
    if conc_changed:
        if sub.conc is MISSING:
            note.pop("concentration", None)
        else:
            note["concentration"] = sub.conc
    # a note's keys in the order files write them: value, uncertainty, source
    ordered = {k: note[k] for k in ("value", *UNCERTAINTY_KEYS, "source", "note") if k in note}
    note.clear()
    note.update(ordered)
    return True


@dataclass
class FieldError:
    part: str
    """``value``, ``source``, ``range`` or ``conc``: the input beside which it is shown."""
    text: str


@dataclass
class FormOutcome:
    data: dict[str, Any]
    changed: bool
    errors: dict[str, FieldError]
    """By field key."""
    general: list[str]
    """Errors that name no field of this section (one line each)."""
    submitted: dict[str, Submitted]
    scenario: Scenario | None = None


def apply_form(
    data: dict[str, Any],
    scenario: Scenario,
    section: str,
    form: Form,
    m: Messages,
    *,
    file: str = "<scenario>",
) -> FormOutcome:
    """The scenario data with one section's form applied and the whole validated again."""
    new_id = (_one(form, f"{NEW_ENVELOPE}.id") or "").strip()
    blocks = section_blocks(scenario, section, new_id)
    specs = section_fields(blocks)
    raw_errors: dict[str, tuple[str, str, dict[str, Any]]] = {}
    submitted: dict[str, Submitted] = {}
    new = copy.deepcopy(data)
    changed = False
    changed_keys: list[str] = []
    for spec in specs:
        if spec.kind == "newid":
            submitted[spec.key] = Submitted(True, texts={"value": new_id})
            continue
        if spec.name.startswith(NEW_ENVELOPE) and not new_id:
            continue
        submitted[spec.key] = read_field(form, spec, raw_errors)
    if section == "budget":
        new_key = f"{NEW_ENVELOPE}.id"
        if new_id in scenario.budget.envelopes:
            raw_errors[new_key] = ("value", "web.scenarios.form.envelope_exists", {"id": new_id})
        elif not new_id and any(
            (_one(form, f"{NEW_ENVELOPE}.{leaf}") or "").strip()
            for leaf in ("label", "first_year", "last_year", "ceiling_vnd")
        ):
            raw_errors[new_key] = ("value", "web.scenarios.form.envelope_id", {})
    errors = {
        key: FieldError(part, m(text_key, **fields) if fields else m(text_key))
        for key, (part, text_key, fields) in raw_errors.items()
    }
    if errors:
        return FormOutcome(data, False, errors, [], submitted)
    for spec in specs:
        sub = submitted.get(spec.key)
        if sub is None:
            continue
        if apply_field(new, spec, current(new, spec, scenario), sub):
            changed = True
            changed_keys.append(spec.key)
    if not changed:
        return FormOutcome(data, False, {}, [], submitted, scenario)
    try:
        built = build_scenario(new, file=file)
    except ScenarioError as err:
        found = field_for_error(specs, err.path, changed_keys)
        if found is None:
            return FormOutcome(new, True, {}, [error_line(m, err)], submitted)
        spec, part = found
        return FormOutcome(
            new, True, {spec.key: FieldError(part, rule_text(m, err.rule))}, [], submitted
        )
    return FormOutcome(new, True, {}, [], submitted, built)


# ----------------------------------------------------------------------------- errors


_PARTS = {
    "range": "range",
    "distribution": "range",
    "sd": "range",
    "source": "source",
    "concentration": "conc",
}


def field_for_error(
    specs: Sequence[FieldSpec], path: str, changed: Iterable[str] = ()
) -> tuple[FieldSpec, str] | None:
    """The field an error's path names, and which of its inputs: the longest field path the
    error's path starts with; else, for an error on a whole entry (a target, a group's funding
    shares), the field of it that was changed (by key, in ``changed``), else its share, else its
    first number."""
    if not path:
        return None
    parts = path.split(".")
    best: tuple[FieldSpec, str] | None = None
    best_len = -1
    for spec in specs:
        own = [str(p) for p in spec.path]
        if parts[: len(own)] == own and len(own) > best_len:
            rest = parts[len(own) :]
            best = (spec, _PARTS.get(rest[0], "value") if rest else "value")
            best_len = len(own)
    if best is not None:
        return best
    inside = [s for s in specs if [str(p) for p in s.path][: len(parts)] == parts]
    if not inside:
        return None
    edited = set(changed)
    mine = [s for s in inside if s.key in edited]
    shares = [s for s in inside if s.path[-1] == "share"]
    return (mine or shares or [s for s in inside if s.kind != "text"] or inside)[0], "value"


_WHAT = {
    "a probability": "probability",
    "a rate": "rate",
    "a share": "share",
    "a level": "level",
    "a year": "year",
    "a month": "month",
    "a number of months": "months",
    "a number": "number",
    "a rank correlation": "correlation",
}

_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"must be (?P<what>.+?) (?:between|from) (?P<lo>\S+) (?:and|to) (?P<hi>\S+)$", "between"),
        (r"must be a whole number$", "whole"),
        (r"must not be negative$", "negative"),
        (r"must be at least (?P<bound>\S+)$", "at_least"),
        (r"must be at most (?P<bound>\S+)(?: VND)?$", "at_most"),
        (r"must be a number, not .*$", "not_number"),
        (r"shares must sum to 1 \(they sum to (?P<total>\S+)\)$", "shares_sum"),
        (r"must not exceed headcount \((?P<headcount>\d+)\)$", "exceeds_headcount"),
        (
            r"counts must sum to the eligible headcount (?P<eligible>\d+) .*; "
            r"they sum to (?P<total>\d+)$",
            "counts_sum",
        ),
        (r"must contain the value (?P<value>\S+) \(low ≤ value ≤ high\)$", "range_contains"),
        (r"the low end must not be above the high end$", "range_order"),
        (r"is required but missing$", "required"),
        (r"a target needs a share, a min_count, or both$", "target_needs"),
        (r"must be above entry_level \((?P<level>\d+)\)$", "above_entry"),
        (r"must name at least one group$", "one_group"),
        (r"must lie in the horizon (?P<first>\d+)–(?P<last>\d+)$", "in_horizon"),
        (r"must not be before first_year \((?P<year>\d+)\)$", "not_before"),
        (r"a source must be a non-empty text.*$", "source_empty"),
        (r"must list at least one exam month$", "one_month"),
        (r"exam months must be in increasing order.*$", "months_order"),
        (r"selects no pool in the target's groups$", "no_pool"),
        (r"no pool in the target's groups has this attribute.*$", "no_attribute"),
    )
)


def rule_text(m: Messages, rule: str) -> str:
    """A loader's rule in the reader's language where the catalogue has it, else as written."""
    for pattern, key in _RULES:
        found = pattern.match(rule)
        if found is None:
            continue
        fields = dict(found.groupdict())
        if "what" in fields:
            what = _WHAT.get(fields["what"])
            if what is None:
                continue
            fields["what"] = m(f"web.scenarios.rule.what.{what}")
        return (
            m(f"web.scenarios.rule.{key}", **fields) if fields else m(f"web.scenarios.rule.{key}")
        )
    return m("web.scenarios.rule.as_written", rule=printable(rule, 300))


def error_line(m: Messages, err: ScenarioError) -> str:
    """A whole loader error on one line, in the reader's language around it."""
    return m("web.scenarios.error.invalid", error=err.message)


# ----------------------------------------------------------------------------- the view


@dataclass
class FieldView:
    """What the template shows of one field (every word already in the reader's language)."""

    key: str
    kind: str
    label: str
    value: str
    source: str
    low: str
    high: str
    conc: str
    cells: list[tuple[int, str]]
    options: list[tuple[str, bool]]
    hint: str
    noted: bool
    ranged: bool
    mixed: bool
    error: str
    error_part: str


@dataclass
class BlockView:
    title: str
    level: int
    fields: list[FieldView]


def block_views(
    blocks: Sequence[Block],
    data: Any,
    scenario: Scenario,
    m: Messages,
    *,
    submitted: Mapping[str, Submitted] | None = None,
    errors: Mapping[str, FieldError] | None = None,
) -> list[BlockView]:
    """The blocks as the template shows them: the scenario's values, or what was submitted
    when the form comes back with an error."""
    submitted = submitted or {}
    errors = errors or {}
    views: list[BlockView] = []
    for block in blocks:
        title_fields = dict(block.title_fields)
        if "name" in title_fields and not title_fields["name"]:
            title_fields["name"] = title_fields.get("id", "")
        title = m(block.title, **title_fields) if title_fields else m(block.title)
        views.append(
            BlockView(
                title,
                block.level,
                [
                    _field_view(spec, data, scenario, m, submitted.get(spec.key), errors)
                    for spec in block.fields
                ],
            )
        )
    return views


def _field_view(
    spec: FieldSpec,
    data: Any,
    scenario: Scenario,
    m: Messages,
    sub: Submitted | None,
    errors: Mapping[str, FieldError],
) -> FieldView:
    is_new = spec.name.startswith(NEW_ENVELOPE)
    cur = (
        Current(MISSING, None, ASSUMPTION, None, MISSING)
        if is_new
        else current(data, spec, scenario)
    )
    texts = sub.texts if sub is not None and sub.present else {}
    value = cur.value
    if spec.kind == "number":
        value_text = number_text(value)
    elif spec.kind == "intlist":
        value_text = ", ".join(number_text(v) for v in value) if isinstance(value, list) else ""
    elif spec.kind == "where":
        value_text = _where_text(value)
    elif spec.kind in ("text", "choice", "newid"):
        value_text = "" if value is MISSING or value is None else str(value)
    else:
        value_text = ""
    value_text = texts.get("value", value_text)
    table = value if isinstance(value, dict) else {}
    cells = [(lvl, texts.get(f"L{lvl}", number_text(table.get(lvl, MISSING)))) for lvl in LEVELS]
    if spec.kind == "groups":
        chosen = (
            set(texts["value"].split(","))
            if "value" in texts
            else set(value)
            if isinstance(value, list)
            else set()
        )
        options = [(g, g in chosen) for g in spec.choices]
    elif spec.kind == "choice":
        options = [(c, c == value_text) for c in spec.choices]
    else:
        options = []
    shown = value
    if sub is not None and sub.present and sub.value is not MISSING:
        shown = sub.value
    err = errors.get(spec.key)
    label_fields = dict(spec.label_fields)
    low, high = (number_text(cur.range[0]), number_text(cur.range[1])) if cur.range else ("", "")
    return FieldView(
        key=spec.key,
        kind=spec.kind,
        label=m(spec.label, **label_fields) if label_fields else m(spec.label),
        value=value_text,
        source=texts.get("source", cur.source),
        low=texts.get("low", low),
        high=texts.get("high", high),
        conc=texts.get("conc", number_text(cur.conc)),
        cells=cells,
        options=options,
        hint=hint(m, spec.fmt, shown) if spec.kind == "number" else "",
        noted=spec.noted,
        ranged=spec.ranged,
        mixed=spec.mixed,
        error=err.text if err else "",
        error_part=err.part if err else "",
    )


# ----------------------------------------------------------------------------- differences


@dataclass(frozen=True)
class Leaf:
    value: Any
    source: str | None


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any
    old_source: str | None
    new_source: str | None


def flatten(data: Any) -> dict[str, Leaf]:
    """Every leaf of a scenario's data by dotted path: numbers with their source (a note's, one
    it inherits from a note around its table, else "assumption"), a note's range as a leaf of
    its own; lists of plain values (months, groups) are one leaf."""
    out: dict[str, Leaf] = {}

    def join(path: str, key: Any) -> str:
        return f"{path}.{key}" if path else str(key)

    def walk(node: Any, path: str, source: str | None) -> None:
        if is_note(node):
            src = str(node.get("source", ASSUMPTION))
            walk(node["value"], path, src)
            for k in UNCERTAINTY_KEYS:  # their source is the value's, shown on its row
                if k in node:
                    out[join(path, k)] = Leaf(node[k], None)
            return
        if isinstance(node, dict):
            if not node and path:
                out[path] = Leaf({}, source)
            for k, v in node.items():
                walk(v, join(path, k), source)
            return
        if isinstance(node, list) and any(isinstance(v, dict | list) for v in node):
            for i, v in enumerate(node):
                walk(v, join(path, i), source)
            return
        number = isinstance(node, int | float) and not isinstance(node, bool)
        out[path] = Leaf(node, source if source is not None or not number else ASSUMPTION)

    walk(data, "", None)
    return out


def diff(old: Any, new: Any) -> list[Change]:
    """The paths whose value or source differ between two scenarios' data, in file order."""
    a, b = flatten(old), flatten(new)
    paths = list(a) + [p for p in b if p not in a]
    changes: list[Change] = []
    for path in paths:
        la, lb = a.get(path), b.get(path)
        va = la.value if la is not None else MISSING
        vb = lb.value if lb is not None else MISSING
        sa = la.source if la is not None else None
        sb = lb.source if lb is not None else None
        if _equal(va, vb) and sa == sb:
            continue
        changes.append(Change(path, va, vb, sa, sb))
    return changes


def value_text(m: Messages, value: Any) -> str:
    """Any value of a scenario, short, in the reader's number format."""
    if value is MISSING or value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return show_number(m, value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(m, v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {value_text(m, v)}" for k, v in value.items()) + "}"
    return printable(str(value), 300)
