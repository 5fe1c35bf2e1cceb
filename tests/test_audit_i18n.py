"""The audit's findings are data rendered from one catalogue, in Vietnamese or English."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.numbers import format_decimal
from test_audit import EARMARK, P1, P2, audit_data, consistent_data, set_field

import simopt.audit as audit_module
from simopt.audit import AuditReport, Finding, Text, audit, render
from simopt.cli import main
from simopt.reporting.i18n import catalogue, messages, placeholders
from simopt.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "long_an": ROOT / "scenarios" / "long_an.yaml",
    "quang_tri": ROOT / "scenarios" / "quang_tri.yaml",
}
AUDIT_SOURCE = ROOT / "simopt" / "audit.py"

# Single-figure slips on an otherwise consistent Long An, chosen so that together with Long An
# itself they make the audit emit every message, arithmetic and explanation it has.
MUTATIONS: dict[str, dict[str, float]] = {
    "phases-overlap": {f"{P2}.first_year": 2025},
    "earmark-outside-period": {f"{EARMARK}.last_year": 2031},
    "earmark-above-spending": {f"{EARMARK}.vnd": 165_024_000_000},
    "people-per-year-rounded-up": {f"{P1}.people_per_year": 3438},
    "vnd-per-year-wrong": {f"{P2}.vnd_per_year": 10_388_200_000},
    "share-too-low": {"targets.pe_2030.share": 0.5},
    "min-count-above-share": {"targets.pe_2030.min_count": 30000},
    "line-people-too-few": {f"{P1}.lines.public_employees.people": 15885},
    "line-vnd-too-little": {f"{P2}.lines.public_employees.vnd": 42_332_000_000},
    "line-left-out": {"stated_budget.people": 20435 - 599},
}

# Keys of the report's layout (headings, labels, words, plurals, separators): rendered by
# format() rather than stored in a finding, so the emission test leaves them out.
LAYOUT = (
    "audit.heading",
    "audit.finding.",
    "audit.agreements.heading",
    "audit.kind.",
    "audit.severity.",
    "audit.unit.",
    "audit.plural.",
    "audit.join.",
)

VIETNAMESE_LETTERS = re.compile(
    "[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.IGNORECASE
)
PLAN_WORDS = ("người", "kinh phí", "chỉ tiêu", "giai đoạn", "kế hoạch", "dự toán", "bình quân")
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
FIGURE = re.compile(r"\d+(?:[.,]\d+)*")


def emitted_keys() -> set[str]:
    """Every ``"audit.…"`` literal of the audit's code: each key is written out whole there."""
    return set(re.findall(r"\"(audit\.[a-z0-9_.]+)\"", AUDIT_SOURCE.read_text(encoding="utf-8")))


def audit_keys(lang: str) -> dict[str, str]:
    return {k: v for k, v in catalogue(lang).items() if k.startswith("audit.")}


def vi_number(x: float) -> str:
    """The Vietnamese way, straight from Babel rather than through the code under test."""
    return str(format_decimal(x, format="#,##0.###", locale="vi"))


def nested(message: Text) -> Iterator[Text]:
    """A text and every text inside it (clauses, labels, terms of a sum)."""
    yield message
    for value in message["fields"].values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                yield from nested(item)


def all_texts(report: AuditReport) -> Iterator[Text]:
    for f in report.findings:
        yield from nested(f.message_text)
        yield from nested(f.computed_from_text)
    for agreement in report.agreement_texts:
        yield from nested(agreement)
    yield from nested(report.summary())


def mutated(changes: dict[str, float]) -> AuditReport:
    data = consistent_data()
    for path, value in changes.items():
        set_field(data, path, value)
    return audit_data(data)


@pytest.fixture(scope="module")
def reports() -> dict[str, AuditReport]:
    out = {name: audit(load_scenario(path)) for name, path in SCENARIOS.items()}
    out.update({name: mutated(changes) for name, changes in MUTATIONS.items()})
    return out


@pytest.fixture(scope="module")
def long_an(reports: dict[str, AuditReport]) -> AuditReport:
    return reports["long_an"]


def findings_of(reports: dict[str, AuditReport]) -> Iterator[tuple[str, Finding]]:
    for name, report in reports.items():
        for finding in report.findings:
            yield name, finding


# --------------------------------------------------------------------------- the catalogue


def test_every_emitted_key_is_in_both_catalogues_with_the_same_placeholders() -> None:
    keys = emitted_keys()
    assert len(keys) > 50  # the scan found the keys, not a stray literal or two
    vi, en = audit_keys("vi"), audit_keys("en")
    assert keys - set(vi) == set()
    assert keys - set(en) == set()
    for key in keys:
        assert placeholders(vi[key]) == placeholders(en[key]), key


def test_catalogues_hold_no_key_the_audit_does_not_emit() -> None:
    keys = emitted_keys()
    assert set(audit_keys("vi")) == keys
    assert set(audit_keys("en")) == keys


def test_vietnamese_catalogue_is_vietnamese() -> None:
    vi, en = audit_keys("vi"), audit_keys("en")
    # every sentence is translated; the few entries that are only placeholders, separators or
    # symbols (a sum, "[{severity}] …") may read the same
    translated = [k for k in vi if VIETNAMESE_LETTERS.search(vi[k])]
    same = {k for k in vi if vi[k] == en[k]}
    assert len(translated) > 0.7 * len(vi)
    for key in same:
        assert not re.search(r"[a-z]{3,}", PLACEHOLDER.sub("", vi[key])), key
    assert vi["audit.severity.error"] == "lỗi"
    assert vi["audit.severity.note"] == "lưu ý"


def test_audit_emits_every_message_key(reports: dict[str, AuditReport]) -> None:
    used = {t["key"] for report in reports.values() for t in all_texts(report)}
    content = {k for k in emitted_keys() if not k.startswith(LAYOUT)}
    assert content - used == set()
    assert used <= emitted_keys()


# --------------------------------------------------------------------------- rendering


def test_every_finding_renders_in_both_languages(reports: dict[str, AuditReport]) -> None:
    seen = 0
    for name, f in findings_of(reports):
        en, vi = f.render("en"), f.render("vi")
        for text in (en, vi, f.render_computed_from("en"), f.render_computed_from("vi")):
            assert text and not PLACEHOLDER.search(text), (name, f.message_key, text)
        assert en == f.message
        assert vi != en
        assert VIETNAMESE_LETTERS.search(vi), vi
        assert any(word in vi.lower() for word in PLAN_WORDS), vi
        seen += 1
    assert seen >= 30


def test_vietnamese_text_carries_the_same_figures(reports: dict[str, AuditReport]) -> None:
    for _, f in findings_of(reports):
        for en, vi in (
            (f.render("en"), f.render("vi")),
            (f.render_computed_from("en"), f.render_computed_from("vi")),
        ):
            assert Counter(FIGURE.findall(vi)) == Counter(FIGURE.findall(en)), (en, vi)


def test_vietnamese_figures_are_written_the_vietnamese_way(
    reports: dict[str, AuditReport],
) -> None:
    checked = 0
    for _, f in findings_of(reports):
        vi = f.render("vi")
        for name, value in f.fields.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if name.endswith("_people"):
                assert f"{vi_number(value)} người" in vi, (name, vi)
            elif name.endswith("_vnd"):
                assert f"{vi_number(value)} đ" in vi, (name, vi)
            elif name.endswith("_count"):
                assert vi_number(value) in vi, (name, vi)
            else:
                continue
            checked += 1
    assert checked > 50


def test_long_an_in_vietnamese(long_an: AuditReport) -> None:
    twice = next(f for f in long_an.findings if f.where == f"{P2}.people")
    vi = twice.render("vi")
    assert "87.472.000.000 đ" in vi and "5.467 người" in vi and "5.641 người" in vi
    assert "tính hai lần" in vi  # the 174 people of phase 1 counted twice
    assert f"{P1}.lines.civil_servants.people" in vi
    note = next(f for f in long_an.findings if f.kind == "yearly_average")
    assert "1.103,6 người" in note.render("vi") and "bình quân" in note.render("vi")
    text = long_an.format("scenarios/long_an.yaml", lang="vi")
    assert text.splitlines()[0] == "Rà soát số liệu kế hoạch 'long_an' (scenarios/long_an.yaml)"
    headers = [line for line in text.splitlines() if line.startswith("[")]
    assert len(headers) == len(long_an.findings)
    assert {h.split("]")[0] for h in headers} == {"[lỗi", "[cảnh báo", "[lưu ý"}
    assert "khớp" in text  # the agreements
    counts = (long_an.count("error"), long_an.count("warning"), long_an.count("note"))
    assert text.splitlines()[-1] == (
        f"{len(long_an.findings)} phát hiện ({counts[0]} lỗi, {counts[1]} cảnh báo, "
        f"{counts[2]} lưu ý) trong {long_an.checks} phép kiểm tra."
    )
    assert not PLACEHOLDER.search(text)


def test_english_report_is_the_default(long_an: AuditReport) -> None:
    assert long_an.format("x.yaml") == long_an.format("x.yaml", lang="en")
    assert long_an.format(lang="en") != long_an.format(lang="vi")


def test_clean_report_renders_in_both_languages(reports: dict[str, AuditReport]) -> None:
    quang_tri = reports["quang_tri"]
    assert quang_tri.clean
    assert quang_tri.format(lang="en").endswith(f"clean: {quang_tri.checks} checks, no findings.")
    vi = quang_tri.format(lang="vi")
    assert vi.endswith(f"khớp hoàn toàn: {quang_tri.checks} phép kiểm tra, không có phát hiện nào.")
    clean = audit_data(consistent_data())
    assert clean.clean and clean.agreement_texts
    text = clean.format(lang="vi")
    assert "Số người trong dự toán khớp với chỉ tiêu số lượng tối thiểu:" in text
    assert text.count("✓") == len(clean.agreement_texts)
    assert not PLACEHOLDER.search(text)


def test_english_number_style_is_one_switch(
    monkeypatch: pytest.MonkeyPatch, long_an: AuditReport
) -> None:
    """English numbers follow number_style(): switched to English conventions, every English
    figure changes with it and the Vietnamese output does not."""
    vi_before = long_an.format(lang="vi")
    monkeypatch.setattr(
        audit_module, "number_style", lambda lang: messages("vi" if lang == "vi" else "en")
    )
    twice = next(f for f in long_an.findings if f.where == f"{P2}.people")
    assert "87,472,000,000 VND" in twice.message and "5,467 people" in twice.message
    assert long_an.format(lang="vi") == vi_before


def test_unknown_language_is_refused(long_an: AuditReport) -> None:
    with pytest.raises(ValueError, match="language"):
        long_an.findings[0].render("fr")


# --------------------------------------------------------------------------- data


def test_findings_are_structured(long_an: AuditReport) -> None:
    twice = next(f for f in long_an.findings if f.where == f"{P2}.people")
    assert twice.message_key == "audit.people_x_unit_cost.count_off"
    assert twice.fields["money_vnd"] == 87_472_000_000
    assert twice.fields["bought_people"] == 5467
    assert twice.fields["count_people"] == 5641
    explain = twice.fields["explain"]
    assert isinstance(explain, dict)
    assert explain["key"] == "audit.explain.counted_twice"
    assert explain["fields"]["matches"] == [f"{P1}.lines.civil_servants.people"]
    assert twice.computed_from_key == "audit.arith.money_over_unit_cost"
    assert twice.computed_from_fields == {
        "money_vnd": 87_472_000_000,
        "unit_cost_vnd": 16_000_000,
        "bought_people": 5467,
    }
    # the arithmetic of a sum keeps its operands, one term each
    total = next(f for f in long_an.findings if f.kind == "phase_sum")
    terms = total.computed_from_fields["terms"]
    assert isinstance(terms, list)
    assert [t["fields"]["value"] for t in terms if isinstance(t, dict)] == [5518, 5641]
    assert total.computed_from_fields["total"] == 5518 + 5641


def test_finding_round_trips_and_renders_the_same(long_an: AuditReport) -> None:
    for f in long_an.findings:
        data = json.loads(json.dumps(f.to_dict(), ensure_ascii=False))
        back = Finding.from_dict(data)
        assert back == f
        for lang in ("en", "vi"):
            assert back.render(lang) == f.render(lang)
            assert back.render_computed_from(lang) == f.render_computed_from(lang)


def test_report_round_trips_and_renders_the_same(long_an: AuditReport) -> None:
    back = AuditReport.from_dict(json.loads(json.dumps(long_an.to_dict())))
    assert back == long_an
    assert back.format("f.yaml", lang="vi") == long_an.format("f.yaml", lang="vi")
    assert back.agreements == long_an.agreements


def test_json_keeps_the_english_fields_and_adds_the_structured_ones(
    long_an: AuditReport,
) -> None:
    data = long_an.to_dict()
    for f, row in zip(long_an.findings, data["findings"], strict=True):
        assert list(row)[:9] == [
            "kind",
            "where",
            "stated",
            "computed",
            "computed_from",
            "severity",
            "message",
            "unit",
            "source",
        ]
        assert row["message"] == f.render("en")
        assert row["computed_from"] == f.render_computed_from("en")
        assert (row["message_key"], row["fields"]) == (f.message_key, f.fields)
    assert data["agreements"] == [render(a, "en") for a in long_an.agreement_texts]
    assert render(data["summary"], "en") == long_an.format().splitlines()[-1]


# --------------------------------------------------------------------------- command line


def test_cli_audit_lang_vi(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], long_an: AuditReport
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["audit", "scenarios/long_an.yaml", "--lang", "vi"]) == 1
    out = capsys.readouterr().out
    assert out == long_an.format("scenarios/long_an.yaml", lang="vi") + "\n"
    assert out.startswith("Rà soát số liệu kế hoạch 'long_an'")
    assert "[lỗi] số người × đơn giá" in out and "87.472.000.000 đ" in out


def test_cli_audit_lang_en_is_the_default(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["audit", "scenarios/long_an.yaml"]) == 1
    default = capsys.readouterr().out
    assert main(["audit", "scenarios/long_an.yaml", "--lang", "en"]) == 1
    assert capsys.readouterr().out == default


def test_cli_audit_lang_vi_clean_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["audit", "scenarios/quang_tri.yaml", "--lang", "vi"]) == 0
    assert "không có phát hiện nào" in capsys.readouterr().out


def test_cli_audit_json_with_lang_stays_english(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], long_an: AuditReport
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["audit", "scenarios/long_an.yaml", "--json", "--lang", "vi"]) == 1
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(long_an.to_dict()))
    assert all("message_key" in f and "fields" in f for f in data["findings"])


def test_cli_audit_unknown_lang_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "scenarios/long_an.yaml", "--lang", "fr"])
    assert exit_info.value.code == 2
    assert "--lang" in capsys.readouterr().err
