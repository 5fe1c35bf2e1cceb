"""`simopt merge` from the command line: a valid file and its report, one-line errors with exit
2 and nothing written, the same bytes every time."""

from __future__ import annotations

from pathlib import Path

import pytest

from simopt.cli import main
from simopt.scenario import load_scenario

LA, TN = "scenarios/long_an.yaml", "scenarios/tay_ninh.yaml"
MAP = ["--map", "provincial_district_civil_servants=provincial_civil_servants"]


def test_merge_writes_a_valid_file_with_its_command_and_prints_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "merged.yaml"
    argv = ["merge", LA, TN, "--name", "tay_ninh_2025", *MAP, "-o", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{out}: merged scenario 'tay_ninh_2025' (3 groups, 14 pools")
    assert "courses.level4.exam_pass_probability: long_an 0.6" in printed
    text = out.read_text("utf-8")
    assert text.startswith("# Built by `simopt merge`")
    assert f"# simopt merge {LA} {TN} --name tay_ninh_2025 --map " in text
    s = load_scenario(out)
    assert s.name == "tay_ninh_2025" and "provincial_civil_servants" in s.groups
    assert s.provenance.unsourced == []


def test_the_same_command_writes_the_same_bytes(tmp_path: Path) -> None:
    out = tmp_path / "m.yaml"
    argv = ["merge", LA, TN, "--name", "m", *MAP, "-o", str(out)]
    assert main(argv) == 0
    first = out.read_bytes()
    assert main(argv) == 0
    assert out.read_bytes() == first


def test_show_lists_the_merged_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.yaml"
    assert main(["merge", LA, TN, "--name", "m", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "courses.level4.exam_pass_probability: 0.591818 [0.441818–0.791818] triangular" in shown


@pytest.mark.parametrize(
    ("extra", "files", "message"),
    [
        (["--map", "nowhere=provincial_civil_servants"], [LA, TN], "no group or pool 'nowhere'"),
        (["--map", "pd_staff"], [LA, TN], "--map 'pd_staff': write it as OLD=NEW"),
        (["--rule", "seats_per_year=max"], [LA, TN], "not a number merge resolves"),
        (["--rule", "exam_pass_probability=mean"], [LA, TN], "must be one of first, max, min"),
        ([], [LA, "scenarios/missing.yaml"], "scenarios/missing.yaml: file not found"),
        ([], [LA], "at least two scenarios"),
        ([], [LA, LA], "both named 'long_an'"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    extra: list[str],
    files: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "m.yaml"
    assert main(["merge", *files, "--name", "m", *extra, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_an_invalid_input_scenario_is_its_own_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(TN).read_text("utf-8").replace("value: 17603", "value: -3"), "utf-8")
    out = tmp_path / "m.yaml"
    assert main(["merge", LA, str(bad), "--name", "m", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.yaml:" in err and "headcount" in err
    assert not out.exists()


def test_the_output_may_not_overwrite_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "la.yaml"
    copy.write_bytes(Path(LA).read_bytes())
    assert main(["merge", str(copy), TN, "--name", "m", "-o", str(copy)]) == 2
    assert "is one of the inputs" in capsys.readouterr().err
    assert copy.read_bytes() == Path(LA).read_bytes()


def test_an_output_that_is_a_directory_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["merge", LA, TN, "--name", "m", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"simopt: -o {tmp_path}: is a directory; name the file to write, e.g. " + (
        f"{tmp_path / 'merged.yaml'}\n"
    )
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_a_missing_output_directory_is_refused_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no" / "such" / "m.yaml"
    assert main(["merge", LA, TN, "--name", "m", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"simopt: -o {out}: ")
    assert f"its directory {out.parent} does not exist" in err
    assert "does not create directories" in err
    assert list(tmp_path.iterdir()) == []
    # a file where the directory should be
    (tmp_path / "f").write_text("x", "utf-8")
    out = tmp_path / "f" / "m.yaml"
    assert main(["merge", LA, TN, "--name", "m", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"simopt: -o {out}: {tmp_path / 'f'} is not a directory\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_a_failed_write_names_the_output_not_a_temporary_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import simopt.iofiles

    def refuse(path: object, text: str) -> None:
        raise PermissionError(13, "Permission denied", str(tmp_path / ".m.yaml.abc123"))

    monkeypatch.setattr(simopt.iofiles, "write_text_atomic", refuse)
    out = tmp_path / "m.yaml"
    assert main(["merge", LA, TN, "--name", "m", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"simopt: -o {out}: cannot write it (Permission denied); nothing written\n"
    assert ".m.yaml." not in err and not out.exists()
