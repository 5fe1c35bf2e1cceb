"""Scenarios in the browser: the list per province, a new scenario from a bundled file or an
upload, its versions, each section edited in forms, a version's YAML, two versions compared.

Who may do what (``auth``): everyone logged in sees the scenarios of the provinces they see (an
administrator sees all); planners add and edit scenarios only in the provinces they were given;
only an administrator may name a new province (its row is made with the scenario); viewers read
every page and the forms, which they cannot send.

Pages and forms:

- ``GET /scenarios`` — every province the user sees, with its scenarios; the forms to start one
  from a bundled file (an id from :func:`paths.bundled_scenarios`, never a path) or to upload
  one. ``GET /p/{province}/scenarios`` — the same for one province.
- ``POST /scenarios/new`` and ``POST /scenarios/upload`` — the file goes through the loader
  every file goes through (:func:`simopt.scenario.parse_scenario`); an upload is at most the
  app's upload limit (and :data:`simopt.limits.MAX_SCENARIO_BYTES`), UTF-8; anything wrong is
  one line on the page and nothing is stored. Version 1 is the file's text as given.
- ``GET /scenarios/{id}`` — its versions (download, compare) and its sections.
- ``GET /scenarios/{id}/edit/{section}`` — the section's form (read-only for a viewer);
  ``POST`` the same path saves it as a new version when valid, else shows each error beside its
  field; ``POST …/check`` validates without saving (htmx on every change, or a plain button).
- ``GET /scenarios/{id}/versions/{number}/yaml`` — a version's YAML, as an attachment.
- ``GET /scenarios/{id}/compare?a=…&b=…`` — the paths whose value or source differ.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from simopt.errors import ScenarioError, printable
from simopt.limits import MAX_SCENARIO_BYTES
from simopt.scenario import Scenario as ScenarioModel
from simopt.scenario import build_scenario, parse_scenario, read_limited
from simopt.web import paths, scenario_forms
from simopt.web.accounts import AccountError, get_or_create_province, province_slug
from simopt.web.auth import (
    can_see,
    current_user,
    has_role,
    require_province,
    require_role,
    visible_provinces,
)
from simopt.web.errors import PageError, is_htmx
from simopt.web.i18n import request_messages
from simopt.web.models import Province, Scenario, ScenarioVersion, User
from simopt.web.routes_home import ProvinceEntry, province_entries
from simopt.web.state import get_db, web_state
from simopt.web.templating import flash, redirect, render

router = APIRouter()
planner_role = require_role("planner")

NAME_MAX = 128
NOTE_MAX = 500


# ----------------------------------------------------------------------------- shared rules


class FormProblem(ValueError):
    """A form input that cannot be used: the field and a catalogue key with its fields."""

    def __init__(self, field: str, key: str, **fields: Any) -> None:
        super().__init__(key)
        self.field = field
        self.key = key
        self.fields = fields

    def text(self, request: Request) -> str:
        m = request_messages(request)
        return m(self.key, **self.fields) if self.fields else m(self.key)


async def posted_form(request: Request) -> dict[str, list[str]]:
    """The posted form, every name with its values (a dependency: a sync page reads it)."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


def scenario_or_404(db: Session, user: User, scenario_id: int) -> Scenario:
    """The scenario, when the user sees its province (403 otherwise, 404 when there is none)."""
    row = db.get(Scenario, scenario_id)
    if row is None or not row.versions:
        raise PageError(404, "web.scenarios.error.no_scenario")
    if not can_see(db, user, row.province):
        raise PageError(403, "web.error.forbidden_province")
    return row


def may_edit(db: Session, user: User, province: Province) -> bool:
    """Planners edit the scenarios of their provinces; administrators every province's."""
    return has_role(user, "planner") and can_see(db, user, province)


def editable_provinces(db: Session, user: User) -> list[Province]:
    return visible_provinces(db, user) if has_role(user, "planner") else []


def target_province(db: Session, user: User, slug: str, new_name: str) -> Province:
    """The province a new scenario goes into: one the user may edit, or — administrators only —
    a new one by its name (its row made now, committed with the scenario)."""
    if new_name.strip():
        if not user.is_admin:
            raise FormProblem("new_province", "web.scenarios.form.new_province_admin")
        try:
            return get_or_create_province(db, new_name)
        except AccountError as err:
            raise FormProblem("new_province", err.key, **err.fields) from None
    if not slug:
        raise FormProblem("province", "web.scenarios.form.choose_province")
    row = db.scalar(select(Province).where(Province.slug == slug))
    if row is None:
        raise FormProblem("province", "web.scenarios.form.choose_province")
    if not may_edit(db, user, row):
        raise PageError(403, "web.error.forbidden_province")
    return row


def clean_name(raw: str, default: str) -> str:
    """A scenario's name in its province: the text given (or ``default``), one line, at most
    :data:`NAME_MAX` characters."""
    name = " ".join(unicodedata.normalize("NFC", raw).split()) or default
    if not name or len(name) > NAME_MAX or any(unicodedata.category(c) == "Cc" for c in name):
        raise FormProblem("name", "web.scenarios.form.name_invalid", max=NAME_MAX)
    return name


def check_name_free(db: Session, province: Province, name: str) -> None:
    taken = db.scalar(
        select(Scenario).where(Scenario.province_id == province.id, Scenario.name == name)
    )
    if taken is not None:
        raise FormProblem("name", "web.scenarios.form.name_taken", name=name)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_version(
    db: Session, scenario: Scenario, text: str, author: User, note: str
) -> ScenarioVersion:
    """The next version of ``scenario`` (not committed)."""
    number = max((v.number for v in scenario.versions), default=0) + 1
    version = ScenarioVersion(
        scenario=scenario,
        number=number,
        yaml_text=text,
        sha256=sha256_text(text),
        author_id=author.id,
        note=note[:NOTE_MAX],
    )
    db.add(version)
    return version


def add_scenario(
    db: Session, province: Province, name: str, text: str, author: User, note: str
) -> Scenario:
    """A new scenario of ``province`` with ``text`` as its version 1 (not committed)."""
    scenario = Scenario(province_id=province.id, name=name)
    db.add(scenario)
    db.flush()
    add_version(db, scenario, text, author, note)
    return scenario


def decode_upload(raw: bytes, file: str) -> str:
    """An upload's text, as :func:`simopt.scenario.load_scenario` decodes a file."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot be decoded); "
            "save the file as UTF-8",
            file=file,
            line=line,
        ) from None


def version_label(scenario: Scenario, version: ScenarioVersion) -> str:
    """How messages name a version: ``long_an v2``."""
    return f"{scenario.name} v{version.number}"


def download_name(scenario: Scenario, version: ScenarioVersion) -> str:
    slug = province_slug(scenario.name) or "scenario"
    return f"{slug}-v{version.number}.yaml"


# ----------------------------------------------------------------------------- the list


@dataclass
class NewForms:
    """The two forms of the list page, as sent (for showing them again with their errors)."""

    province: str = ""
    new_province: str = ""
    bundled: str = ""
    name: str = ""
    which: str = ""
    """``bundled`` or ``upload``: the form the errors belong to."""


def _list_page(
    request: Request,
    db: Session,
    user: User,
    only: Province | None,
    *,
    forms: NewForms | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    entries: list[ProvinceEntry] = province_entries(db, user)
    if only is not None:
        entries = [e for e in entries if e.province.id == only.id]
    settings = web_state(request).settings
    editable = editable_provinces(db, user)
    if forms is None:
        preset = only if only is not None else editable[0] if len(editable) == 1 else None
        forms = NewForms(province=preset.slug if preset is not None else "")
    limit = min(settings.upload_limit_bytes, MAX_SCENARIO_BYTES)
    m = request_messages(request)
    return render(
        request,
        "scenario_list.html",
        {
            "entries": entries,
            "only": only,
            "editable": editable,
            "can_add": has_role(user, "planner"),
            "bundled": paths.bundled_scenarios(settings.scenarios_dir),
            "forms": forms,
            "errors": errors or {},
            "limit_text": m.number(limit / 2**20, 0 if limit % 2**20 == 0 else 1),
        },
        status_code=status_code,
    )


@router.get("/scenarios", name="scenarios")
def scenarios_page(
    request: Request,
    user: User = Depends(current_user),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    return _list_page(request, db, user, None)


@router.get("/p/{province}/scenarios", name="province_scenarios")
def province_scenarios_page(
    request: Request,
    row: Province = Depends(require_province),  # noqa: B008
    user: User = Depends(current_user),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    return _list_page(request, db, user, row)


def _stored(
    request: Request,
    db: Session,
    user: User,
    forms: NewForms,
    text: str,
    parsed: ScenarioModel,
    note: str,
) -> Response:
    """Store a checked file as a new scenario's version 1, or show why not."""
    try:
        name = clean_name(forms.name, parsed.name)
        province = target_province(db, user, forms.province, forms.new_province)
        check_name_free(db, province, name)
        scenario = add_scenario(db, province, name, text, user, note)
        db.commit()
    except FormProblem as problem:
        db.rollback()
        return _list_page(
            request,
            db,
            user,
            None,
            forms=forms,
            errors={problem.field: problem.text(request)},
            status_code=400,
        )
    except IntegrityError:
        db.rollback()
        taken = FormProblem("name", "web.scenarios.form.name_taken", name=forms.name)
        return _list_page(
            request,
            db,
            user,
            None,
            forms=forms,
            errors={"name": taken.text(request)},
            status_code=400,
        )
    flash(request, "web.scenarios.added", level="success", name=scenario.name)
    return redirect(request, str(request.url_for("scenario", scenario_id=scenario.id).path))


@router.post("/scenarios/new", name="scenario_new")
def new_from_bundled(
    request: Request,
    bundled: Annotated[str, Form(max_length=100)] = "",
    province: Annotated[str, Form(max_length=100)] = "",
    new_province: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    user: User = Depends(planner_role),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    forms = NewForms(province, new_province, bundled, name, "bundled")
    folder = web_state(request).settings.scenarios_dir
    if bundled not in paths.bundled_scenarios(folder):
        problem = FormProblem("bundled", "web.scenarios.form.choose_bundled")
        return _list_page(
            request,
            db,
            user,
            None,
            forms=forms,
            errors={"bundled": problem.text(request)},
            status_code=400,
        )
    path = paths.bundled_scenario(folder, bundled)
    file = f"{bundled}.yaml"
    try:
        raw = read_limited(path, MAX_SCENARIO_BYTES, what="a scenario file", file=file)
        text = decode_upload(raw, file)
        parsed = parse_scenario(text, file=file)
    except ScenarioError as err:
        m = request_messages(request)
        line = scenario_forms.error_line(m, err)
        return _list_page(
            request, db, user, None, forms=forms, errors={"bundled": line}, status_code=400
        )
    m = request_messages(request)
    return _stored(
        request, db, user, forms, text, parsed, m("web.scenarios.note.bundled", file=file)
    )


@router.post("/scenarios/upload", name="scenario_upload")
def upload(
    request: Request,
    file: Annotated[UploadFile | None, File()] = None,
    province: Annotated[str, Form(max_length=100)] = "",
    new_province: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    user: User = Depends(planner_role),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    forms = NewForms(province, new_province, "", name, "upload")
    m = request_messages(request)
    settings = web_state(request).settings
    limit = min(settings.upload_limit_bytes, MAX_SCENARIO_BYTES)

    def refuse(key: str, **fields: Any) -> Response:
        text = m(key, **fields) if fields else m(key)
        return _list_page(
            request, db, user, None, forms=forms, errors={"file": text}, status_code=400
        )

    if file is None or not file.filename:
        return refuse("web.scenarios.form.choose_file")
    shown = printable(file.filename.replace("\\", "/").rsplit("/", 1)[-1], 80) or "upload.yaml"
    raw = file.file.read(limit + 1)
    if len(raw) > limit:
        return refuse(
            "web.scenarios.upload.too_large",
            limit=m.number(limit / 2**20, 0 if limit % 2**20 == 0 else 1),
        )
    if not raw.strip():
        return refuse("web.scenarios.upload.empty")
    try:
        text = decode_upload(raw, shown)
        parsed = parse_scenario(text, file=shown)
    except ScenarioError as err:
        return _list_page(
            request,
            db,
            user,
            None,
            forms=forms,
            errors={"file": scenario_forms.error_line(m, err)},
            status_code=400,
        )
    return _stored(
        request, db, user, forms, text, parsed, m("web.scenarios.note.upload", file=shown)
    )


# ----------------------------------------------------------------------------- one scenario


def _summary(model: ScenarioModel) -> dict[str, Any]:
    pools = model.pools()
    return {
        "groups": len(model.groups),
        "pools": len(pools),
        "eligible": sum(pool.eligible for _, pool in pools.values()),
        "courses": len(model.courses),
        "targets": len(model.targets),
        "first": model.horizon.start_year,
        "last": model.horizon.end_year,
        "title": model.title,
    }


@router.get("/scenarios/{scenario_id}", name="scenario")
def scenario_page(
    request: Request,
    scenario_id: int,
    user: User = Depends(current_user),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    row = scenario_or_404(db, user, scenario_id)
    latest = row.versions[-1]
    try:
        summary: dict[str, Any] | None = _summary(
            parse_scenario(latest.yaml_text, file=version_label(row, latest))
        )
        problem = ""
    except ScenarioError as err:  # stored before a rule was added: still shown, still fixable
        summary = None
        problem = scenario_forms.error_line(request_messages(request), err)
    return render(
        request,
        "scenario_detail.html",
        {
            "scenario": row,
            "versions": list(reversed(row.versions)),
            "latest": latest,
            "summary": summary,
            "problem": problem,
            "sections": scenario_forms.SECTIONS,
            "editable": may_edit(db, user, row.province),
        },
    )


def _section(section: str) -> str:
    if section not in scenario_forms.SECTIONS:
        raise PageError(404, "web.error.not_found")
    return section


@dataclass
class Loaded:
    row: Scenario
    version: ScenarioVersion
    data: dict[str, Any]
    model: ScenarioModel
    label: str


def _load_latest(row: Scenario) -> Loaded:
    version = row.versions[-1]
    label = version_label(row, version)
    try:
        data = scenario_forms.load_data(version.yaml_text, file=label)
        model = build_scenario(data, file=label)
    except ScenarioError:
        raise PageError(409, "web.scenarios.error.stored_invalid") from None
    return Loaded(row, version, data, model, label)


def _edit_page(
    request: Request,
    db: Session,
    user: User,
    loaded: Loaded,
    section: str,
    *,
    outcome: scenario_forms.FormOutcome | None = None,
    checked: bool = False,
    note: str = "",
    status_code: int = 200,
) -> Response:
    m = request_messages(request)
    new_id = ""
    if outcome is not None:
        sub = outcome.submitted.get(f"{scenario_forms.NEW_ENVELOPE}.id")
        new_id = sub.texts.get("value", "") if sub is not None else ""
    blocks = scenario_forms.section_blocks(loaded.model, section, new_id)
    views = scenario_forms.block_views(
        blocks,
        loaded.data,
        loaded.model,
        m,
        submitted=outcome.submitted if outcome is not None else None,
        errors=outcome.errors if outcome is not None else None,
    )
    return render(
        request,
        "scenario_edit.html",
        {
            "scenario": loaded.row,
            "version": loaded.version,
            "section": section,
            "sections": scenario_forms.SECTIONS,
            "blocks": views,
            "keys": [f.key for b in views for f in b.fields],
            "editable": may_edit(db, user, loaded.row.province),
            "general": outcome.general if outcome is not None else [],
            "has_errors": bool(outcome and (outcome.errors or outcome.general)),
            "checked": checked,
            "levels": scenario_forms.LEVELS,
            "note": note,
            "funding_sources": bool(loaded.model.funding_sources),
        },
        status_code=status_code,
    )


@router.get("/scenarios/{scenario_id}/edit/{section}", name="scenario_edit")
def edit_page(
    request: Request,
    scenario_id: int,
    section: str,
    user: User = Depends(current_user),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    row = scenario_or_404(db, user, scenario_id)
    return _edit_page(request, db, user, _load_latest(row), _section(section))


def _note(form: dict[str, list[str]]) -> str:
    return " ".join((form.get("note") or [""])[-1].split())[:NOTE_MAX]


def _editable_latest(
    db: Session, user: User, scenario_id: int, form: dict[str, list[str]]
) -> Loaded:
    row = scenario_or_404(db, user, scenario_id)
    if not may_edit(db, user, row.province):
        raise PageError(403, "web.error.forbidden_province")
    loaded = _load_latest(row)
    base = (form.get("base") or [""])[-1]
    if base != str(loaded.version.number):
        raise PageError(
            409, "web.scenarios.edit.stale", base=printable(base, 12), latest=loaded.version.number
        )
    return loaded


@router.post("/scenarios/{scenario_id}/edit/{section}", name="scenario_save")
def save_section(
    request: Request,
    scenario_id: int,
    section: str,
    form: dict[str, list[str]] = Depends(posted_form),  # noqa: B008
    user: User = Depends(planner_role),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    section = _section(section)
    loaded = _editable_latest(db, user, scenario_id, form)
    m = request_messages(request)
    note = _note(form)
    outcome = scenario_forms.apply_form(
        loaded.data, loaded.model, section, form, m, file=loaded.label
    )
    if outcome.errors or outcome.general:
        return _edit_page(
            request, db, user, loaded, section, outcome=outcome, note=note, status_code=400
        )
    back = str(request.url_for("scenario_edit", scenario_id=scenario_id, section=section).path)
    if not outcome.changed:
        flash(request, "web.scenarios.edit.unchanged", level="info")
        return redirect(request, back)
    text = yaml.safe_dump(outcome.data, allow_unicode=True, sort_keys=False)
    try:
        parse_scenario(text, file=loaded.label)  # the stored text is what the loader reads
    except ScenarioError as err:
        outcome.general.append(scenario_forms.error_line(m, err))
        return _edit_page(
            request, db, user, loaded, section, outcome=outcome, note=note, status_code=400
        )
    version = add_version(db, loaded.row, text, user, note)
    try:
        db.commit()
    except IntegrityError:  # another planner saved this very moment
        db.rollback()
        raise PageError(
            409,
            "web.scenarios.edit.stale",
            base=loaded.version.number,
            latest=loaded.version.number + 1,
        ) from None
    flash(request, "web.scenarios.edit.saved", level="success", number=version.number)
    return redirect(request, back)


@router.post("/scenarios/{scenario_id}/edit/{section}/check", name="scenario_check")
def check_section(
    request: Request,
    scenario_id: int,
    section: str,
    form: dict[str, list[str]] = Depends(posted_form),  # noqa: B008
    user: User = Depends(planner_role),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    section = _section(section)
    loaded = _editable_latest(db, user, scenario_id, form)
    m = request_messages(request)
    outcome = scenario_forms.apply_form(
        loaded.data, loaded.model, section, form, m, file=loaded.label
    )
    failed = bool(outcome.errors or outcome.general)
    if is_htmx(request):
        blocks = scenario_forms.section_blocks(loaded.model, section)
        keys = [f.key for f in scenario_forms.section_fields(blocks)]
        return render(
            request,
            "scenario_check.html",
            {
                "failed": failed,
                "changed": outcome.changed,
                "errors": outcome.errors,
                "general": outcome.general,
                "keys": keys,
                "labels": {
                    f.key: (m(f.label, **dict(f.label_fields)) if f.label_fields else m(f.label))
                    for f in scenario_forms.section_fields(blocks)
                },
            },
        )
    return _edit_page(
        request,
        db,
        user,
        loaded,
        section,
        outcome=outcome,
        checked=True,
        note=_note(form),
        status_code=400 if failed else 200,
    )


# ----------------------------------------------------------------------------- versions


def _version(row: Scenario, number: int) -> ScenarioVersion:
    for version in row.versions:
        if version.number == number:
            return version
    raise PageError(404, "web.scenarios.error.no_version")


@router.get("/scenarios/{scenario_id}/versions/{number}/yaml", name="scenario_version_yaml")
def version_yaml(
    request: Request,
    scenario_id: int,
    number: int,
    user: User = Depends(current_user),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    row = scenario_or_404(db, user, scenario_id)
    version = _version(row, number)
    return Response(
        version.yaml_text.encode("utf-8"),
        media_type="application/yaml; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{download_name(row, version)}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/scenarios/{scenario_id}/compare", name="scenario_compare")
def compare_page(
    request: Request,
    scenario_id: int,
    a: int | None = None,
    b: int | None = None,
    user: User = Depends(current_user),  # noqa: B008
    db: Session = Depends(get_db),  # noqa: B008
) -> Response:
    row = scenario_or_404(db, user, scenario_id)
    numbers = [v.number for v in row.versions]
    new = _version(row, b if b is not None else numbers[-1])
    old = _version(row, a if a is not None else (numbers[-2] if len(numbers) > 1 else numbers[-1]))
    m = request_messages(request)
    try:
        changes = scenario_forms.diff(
            scenario_forms.load_data(old.yaml_text, file=version_label(row, old)),
            scenario_forms.load_data(new.yaml_text, file=version_label(row, new)),
        )
    except ScenarioError as err:
        raise PageError(409, "web.scenarios.error.invalid", error=err.message) from None
    rows = [
        {
            "path": c.path,
            "old": scenario_forms.value_text(m, c.old),
            "new": scenario_forms.value_text(m, c.new),
            "old_source": c.old_source or "",
            "new_source": c.new_source or "",
        }
        for c in changes
    ]
    return render(
        request,
        "scenario_compare.html",
        {"scenario": row, "old": old, "new": new, "rows": rows, "numbers": numbers},
    )
