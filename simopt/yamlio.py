"""Reading scenario YAML: syntax errors with line and column, line numbers for field paths,
and the ``{value: …, source: …}`` notes that let any number carry its provenance.

A note may also say how uncertain its value is — ``range: [low, high]``, ``distribution``,
``sd`` (normal only) or, on a level table, ``concentration``. :func:`strip_sources` only collects
those keys as written (:class:`DeclaredUncertainty`); :mod:`simopt.uncertain.parse` checks them
against the validated scenario, where the field's own rules are known.

Whatever the text, :func:`parse_yaml_text` returns plain data or raises one
:class:`~simopt.errors.ScenarioError`: bad syntax, bad tags (``!!int abc``), impossible dates
(``2021-13-45``), keys given twice, aliases that contain themselves or expand without end, and
nesting too deep to read are all reported with the line where they occur.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from simopt.errors import ScenarioError, printable, yaml_kind

ASSUMPTION = "assumption"

MAX_NODES = 1_000_000
"""A scenario has a few thousand values; more than this (after expanding aliases) is an error."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``2e10`` and ``1.5E9`` as floats (YAML 1.2 style), and that
    reports a value its tag cannot hold (``!!int abc``, ``2021-13-45``) as a YAML error at that
    value instead of a bare Python exception."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, IndexError):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"cannot read {_describe_node(node)} as {_tag_name(node.tag)}",
                node.start_mark,
            ) from None


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _tag_name(tag: str) -> str:
    short = tag.removeprefix("tag:yaml.org,2002:")
    names = {"int": "a whole number", "float": "a number", "bool": "true/false"}
    names |= {"timestamp": "a date", "binary": "binary data"}
    return names.get(short, f"'{short}'")


def _describe_node(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        text = str(node.value)
        return repr(text if len(text) <= 40 else text[:37] + "...")
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


def _mark_position(mark: Any) -> tuple[int | None, int | None]:
    if mark is None:
        return None, None
    return mark.line + 1, mark.column + 1


def _position_in(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index`` of ``text``."""
    index = max(0, min(index, len(text)))
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def _syntax_error(exc: yaml.YAMLError, text: str, file: str, prefix: str) -> ScenarioError:
    """One-line :class:`ScenarioError` for any PyYAML error."""
    if isinstance(exc, yaml.reader.ReaderError):
        at_line, at_column = _position_in(text, exc.position)
        char = exc.character
        shown = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        return ScenarioError(
            f"{prefix}: character {shown} is not allowed ({exc.reason})",
            file=file,
            line=at_line,
            column=at_column,
        )
    if isinstance(exc, yaml.MarkedYAMLError):
        line, column = _mark_position(exc.problem_mark)
        rule = f"{prefix}: {exc.problem or exc.context or 'invalid YAML'}"
        if exc.problem and exc.context:
            context_line, _ = _mark_position(exc.context_mark)
            rule += (
                f" ({exc.context}" + (f" from line {context_line}" if context_line else "") + ")"
            )
        if "'\\t'" in str(exc.problem):
            rule += "; indent with spaces, not tabs"
        return ScenarioError(rule, file=file, line=line, column=column)
    return ScenarioError(f"{prefix}: {exc}", file=file)


def parse_yaml_text(text: str, *, file: str = "<text>") -> tuple[Any, yaml.Node | None]:
    """Parse YAML text into plain data and its node tree (for line numbers)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, file, "YAML syntax error") from None
    except RecursionError:
        raise ScenarioError(
            "YAML syntax error: lists or mappings are nested too deeply to read", file=file
        ) from None
    if node is None:
        return None, None
    check_nodes(node, file=file)
    try:
        loader = _Loader("")
        try:
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:  # e.g. a bad tag: composing passed, constructing did not
        raise _syntax_error(exc, text, file, "YAML error") from None
    except RecursionError:
        raise ScenarioError(
            "YAML error: lists or mappings are nested too deeply to read", file=file
        ) from None
    return data, node


_MERGE_TAG = "tag:yaml.org,2002:merge"


def check_nodes(root: yaml.Node, *, file: str = "<text>") -> None:
    """Reject what PyYAML would accept silently or choke on later: a key given twice in one
    mapping (the first value would be dropped without a word), an alias inside the very list or
    mapping it names (data that contains itself), and aliases that expand past :data:`MAX_NODES`.
    """
    # Iterative depth-first walk over the node graph; aliases make it a DAG (or worse, a cycle).
    size: dict[int, int] = {}
    on_path: set[int] = set()
    paths: dict[int, tuple[str, ...]] = {id(root): ()}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in _children(node))
            if size[key] > MAX_NODES:
                line, column = _mark_position(node.start_mark)
                raise ScenarioError(
                    f"aliases expand to more than {MAX_NODES:,} values; a scenario is far smaller",
                    file=file,
                    path=".".join(paths.get(key, ())),
                    line=line,
                    column=column,
                    show_value=False,
                )
            continue
        if key in size:
            continue
        if isinstance(node, yaml.ScalarNode):
            _check_number_form(node, paths.get(key, ()), file)
        on_path.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            _check_duplicate_keys(node, paths.get(key, ()), file)
        here = paths.get(key, ())
        for label, child in _labelled_children(node):
            cid = id(child)
            if cid in on_path:
                line, column = _mark_position(child.start_mark)
                raise ScenarioError(
                    "an alias (*name) refers to the list or mapping that contains it",
                    file=file,
                    path=".".join((*here, label)),
                    line=line,
                    column=column,
                    show_value=False,
                )
            if cid not in size:
                paths.setdefault(cid, (*here, label))
                stack.append((child, False))


_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_STR_TAG = "tag:yaml.org,2002:str"
_SHOWN_CHARS = 40
"""Longest number text a message repeats (a 400-digit number is cut, not echoed whole)."""
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
_BINARY = re.compile(r"[-+]?0b[01_]+")


def _check_number_form(node: yaml.ScalarNode, path: tuple[str, ...], file: str) -> None:
    """Refuse the YAML 1.1 number forms that mean something else in YAML 1.2 and to a reader.

    PyYAML reads YAML 1.1: ``0100`` is octal (64), ``3:00`` is base 60 (180) and ``0b11`` is
    binary (3). A planner who types ``seats_per_year: 0100`` means a hundred, and a file written
    for YAML 1.2 tools means it too; taking 64 silently would change the plan. So these forms are
    errors that say what to write instead. Hexadecimal (``0x1F``) means the same in both and stays.
    """
    text = str(node.value)
    tag = node.tag
    plain = node.style is None
    shown = printable(text, _SHOWN_CHARS)
    rule = ""
    if tag == _INT_TAG and _BINARY.fullmatch(text):
        decimal = _yaml11_number(node)
        rule = f"{shown}: a binary number in YAML 1.1" + (
            f" (read as {decimal}); write {decimal}" if decimal else "; write it in decimal"
        )
    elif tag in {_INT_TAG, _FLOAT_TAG} and ":" in text:
        read = _yaml11_number(node)
        rule = (
            f"{shown}: a base-60 number in YAML 1.1"
            + (f" (read as {read})" if read else "")
            + "; write the number itself, or quote it if it is text"
        )
    elif (tag == _INT_TAG or (tag == _STR_TAG and plain)) and _LEADING_ZERO.fullmatch(text):
        # ``08`` and ``09`` are not octal, so YAML 1.1 makes them text: just as surprising.
        sign = "-" if text.startswith("-") else ""
        digits = text.lstrip("+-").replace("_", "").lstrip("0") or "0"
        octal = _yaml11_number(node) if tag == _INT_TAG else None
        read = "text" if tag == _STR_TAG else "octal" + (f", {octal}" if octal else "")
        rule = (
            f"{shown}: a leading zero is ambiguous (YAML 1.1 reads it as {read}); "
            f"write {printable(sign + digits, _SHOWN_CHARS)}"
        )
    if rule:
        line, column = _mark_position(node.start_mark)
        raise ScenarioError(
            rule, file=file, path=".".join(path), line=line, column=column, show_value=False
        )


def _yaml11_number(node: yaml.ScalarNode) -> str | None:
    """What PyYAML makes of a scalar ("180"), or None when that is too long to be worth showing."""
    loader = _Loader("")
    try:
        value = yaml.SafeLoader.construct_object(loader, node)
    except Exception:  # the message must not fail; the form alone is reason enough to refuse
        return None
    finally:
        loader.dispose()
    if isinstance(value, float):
        return f"{value:g}"
    if not isinstance(value, int) or abs(value) >= 10**_SHOWN_CHARS:
        return None  # (and str() of a 5,000-digit int raises)
    return str(value)


def _children(node: yaml.Node) -> list[yaml.Node]:
    return [child for _, child in _labelled_children(node)]


def _labelled_children(node: yaml.Node) -> list[tuple[str, yaml.Node]]:
    if isinstance(node, yaml.MappingNode):
        out: list[tuple[str, yaml.Node]] = []
        for k_node, v_node in node.value:
            label = str(k_node.value) if isinstance(k_node, yaml.ScalarNode) else "?"
            out += [(label, k_node), (label, v_node)]
        return out
    if isinstance(node, yaml.SequenceNode):
        return [(str(i), child) for i, child in enumerate(node.value)]
    return []


def _check_duplicate_keys(node: yaml.MappingNode, path: tuple[str, ...], file: str) -> None:
    first_line: dict[tuple[str, str], int] = {}
    for k_node, _ in node.value:
        if not isinstance(k_node, yaml.ScalarNode) or k_node.tag == _MERGE_TAG:
            continue
        ident = (k_node.tag, str(k_node.value))
        line = k_node.start_mark.line + 1
        if ident in first_line:
            raise ScenarioError(
                f"key given twice in the same mapping (first at line {first_line[ident]}); "
                "YAML would silently keep only the last",
                file=file,
                path=".".join((*path, str(k_node.value))),
                line=line,
                column=k_node.start_mark.column + 1,
                show_value=False,
            )
        first_line[ident] = line


def line_of(node: yaml.Node | None, path: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the deepest node reachable along ``path``.

    A ``{value: …, source: …}`` note is looked through: ``level_shares.7`` finds key 7 inside the
    note's value.
    """
    best: int | None = None
    current = node
    for key in path:
        if current is None:
            break
        best = current.start_mark.line + 1
        nxt: yaml.Node | None = None
        if isinstance(current, yaml.MappingNode):
            nxt, key_line = _lookup(current, key)
            if nxt is None and str(key) not in NOTE_KEYS:
                nxt, key_line = _lookup_in_note(current, key)
            if key_line is not None:
                best = key_line
        else:
            nxt = _index(current, key)
        current = nxt
    if current is not None:
        best = current.start_mark.line + 1
    return best


def _lookup(node: yaml.MappingNode, key: str | int) -> tuple[yaml.Node | None, int | None]:
    for k_node, v_node in node.value:
        if str(k_node.value) == str(key):
            return v_node, k_node.start_mark.line + 1
    return None, None


def _lookup_in_note(node: yaml.MappingNode, key: str | int) -> tuple[yaml.Node | None, int | None]:
    """Look ``key`` up inside the value of a ``{value, source}`` note."""
    inner, _ = _lookup(node, "value")
    if inner is None or _lookup(node, "source")[0] is None:
        return None, None
    if isinstance(inner, yaml.MappingNode):
        return _lookup(inner, key)
    return _index(inner, key), None


def _index(node: yaml.Node, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        child: yaml.Node = node.value[key]
        return child
    return None


@dataclass
class Provenance:
    """Where each number of a scenario comes from, keyed by dotted field path."""

    sources: dict[str, str] = field(default_factory=dict)
    unsourced: list[str] = field(default_factory=list)
    """Paths of bare numbers written without a ``{value, source}`` note (taken as assumptions)."""

    def source_of(self, path: str) -> str:
        return self.sources.get(path, ASSUMPTION)

    def sources_under(self, path: str) -> str:
        """The distinct sources of ``path`` and of every number under it, in order, joined by
        "; " (a table written as one note gives each of its numbers that note's source)."""
        found = [
            src for key, src in self.sources.items() if key == path or key.startswith(path + ".")
        ]
        return "; ".join(dict.fromkeys(found)) if found else ASSUMPTION


UNCERTAINTY_KEYS: tuple[str, ...] = ("range", "distribution", "sd", "concentration")
"""Keys of a note that describe how its value varies from one simulated replication to the next."""

NOTE_KEYS = frozenset({"value", "source", "note", *UNCERTAINTY_KEYS})


@dataclass(frozen=True)
class DeclaredUncertainty:
    """The uncertainty keys of one note, as written, before any of them is checked."""

    keys: dict[str, Any]
    """``range``, ``distribution``, ``sd`` and ``concentration`` as given, in the note's order."""
    source: str


def _is_note(obj: Any) -> bool:
    return isinstance(obj, Mapping) and "value" in obj and set(obj) <= NOTE_KEYS


def is_note(obj: Any) -> bool:
    """Whether ``obj`` is a ``{value: …, source: …}`` note (``source`` and ``note`` optional)."""
    return _is_note(obj)


def _looks_like_broken_note(obj: Mapping[Any, Any]) -> tuple[str, str] | None:
    """(bad key, hint) when a mapping is evidently a note with a misspelt or missing key."""
    keys = [k for k in obj if k not in NOTE_KEYS]
    if "value" in obj and keys and all(isinstance(k, str) for k in keys):
        for k in keys:
            known = ["source", "note", *UNCERTAINTY_KEYS]
            close = difflib.get_close_matches(k, known, n=1, cutoff=0.6)
            if close:
                return k, f"unknown key in a {{value, source}} note; did you mean '{close[0]}'?"
        if "source" in obj:  # no scenario model has these two fields: it is a note
            names = ", ".join(["value", "source", "note", *UNCERTAINTY_KEYS])
            return keys[0], f"unknown key in a {{value, source}} note (known keys: {names})"
    if "source" in obj and "value" not in obj and set(obj) <= NOTE_KEYS:
        return "value", "a {value, source} note needs a value"
    return None


def strip_sources(
    obj: Any,
    provenance: Provenance,
    path: tuple[Any, ...] = (),
    *,
    file: str = "<scenario>",
    declared: dict[str, DeclaredUncertainty] | None = None,
) -> Any:
    """Replace every ``{value: x, source: s}`` with ``x``; record ``s`` (or "assumption").

    The uncertainty keys of each note that has any go into ``declared`` by dotted path, in the
    order the notes appear (when ``declared`` is None they are dropped unchecked).
    """
    dotted = ".".join(str(p) for p in path)
    if _is_note(obj):
        source = obj.get("source", ASSUMPTION)
        if not isinstance(source, str) or not source.strip():
            raise ScenarioError(
                "a source must be a non-empty text (a citation, or the word 'assumption')"
                + ("" if isinstance(source, str) else f", not {yaml_kind(source)}"),
                file=file,
                path=f"{dotted}.source" if dotted else "source",
                value=source,
            )
        value = obj["value"]
        extra = {k: v for k, v in obj.items() if k in UNCERTAINTY_KEYS}
        if extra and declared is not None:
            declared[dotted] = DeclaredUncertainty(keys=extra, source=source)
        if isinstance(value, Mapping | list):
            # A source note on a whole table (e.g. a level distribution) covers every entry that
            # has no note of its own.
            inner_provenance = Provenance()
            inner = strip_sources(value, inner_provenance, path, file=file, declared=declared)
            bare = set(inner_provenance.unsourced)
            for p, s in inner_provenance.sources.items():
                provenance.sources[p] = source if p in bare else s
            return inner
        provenance.sources[dotted] = source
        return value
    if isinstance(obj, Mapping):
        broken = _looks_like_broken_note(obj)
        if broken is not None:
            bad, rule = broken
            raise ScenarioError(
                rule,
                file=file,
                path=".".join(str(p) for p in (*path, bad)),
                value=obj.get(bad),
                show_value=bad != "value",
            )
        return {
            k: strip_sources(v, provenance, (*path, k), file=file, declared=declared)
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [
            strip_sources(v, provenance, (*path, i), file=file, declared=declared)
            for i, v in enumerate(obj)
        ]
    if (
        isinstance(obj, int | float)
        and not isinstance(obj, bool)
        and dotted not in provenance.sources
    ):
        provenance.sources[dotted] = ASSUMPTION
        provenance.unsourced.append(dotted)
    return obj
