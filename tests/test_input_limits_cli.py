"""Through the command line: every bad input of issue 9 is one line on stderr and exit 2.

Inputs that used to hang or exhaust memory (a named pipe, /dev/zero) run the CLI in a subprocess
with a timeout, so that a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simopt.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line(rc: int, out: str, err: str) -> str:
    assert rc == 2
    assert out == ""
    assert err.startswith("simopt: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    return err


def _subprocess(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simopt", *argv],
        capture_output=True,
        text=True,
        timeout=60,  # a regression (blocking open, endless read) fails here instead of hanging
        cwd=ROOT,
        check=False,
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_refused_promptly(tmp_path: Path) -> None:
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    started = time.perf_counter()
    done = _subprocess(["validate", str(fifo)])
    assert time.perf_counter() - started < 30
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"simopt: {fifo}: is not a regular file (it is a named pipe); "
        "give the path of a scenario file\n"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_dev_zero_refused() -> None:
    done = _subprocess(["validate", "/dev/zero"])
    assert done.returncode == 2
    assert done.stderr == (
        "simopt: /dev/zero: is not a regular file (it is a character device); "
        "give the path of a scenario file\n"
    )


def test_six_megabytes_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a" * (6 * 2**20))
    started = time.perf_counter()
    err = _one_line(*_run(["validate", str(path)], capsys))
    assert time.perf_counter() - started < 2.0
    assert err == f"simopt: {path}: is 6.0 MiB; a scenario file may be at most 5.0 MiB " + (
        "(simopt.limits)\n"
    )


def test_too_many_pools(
    long_an: dict[str, Any], write_yaml: Callable[[Any], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pools = long_an["groups"]["public_employees"]["pools"]
    model = pools["pe_staff"]
    for i in range(2_000):
        pools[f"extra_{i}"] = model
    path = write_yaml(long_an)
    err = _one_line(*_run(["validate", str(path)], capsys))
    assert f"simopt: {path}:" in err
    assert ": groups: 2,007 pools in all groups; a scenario may have at most 2,000" in err


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("0100", "0100: a leading zero is ambiguous (YAML 1.1 reads it as octal, 64); write 100"),
        ("3:00", "3:00: a base-60 number in YAML 1.1 (read as 180)"),
        ("0b11", "0b11: a binary number in YAML 1.1 (read as 3); write 3"),
    ],
)
def test_yaml_11_numbers_in_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str, words: str
) -> None:
    text = (ROOT / "scenarios" / "long_an.yaml").read_text(encoding="utf-8")
    old = "seats_per_year: {value: 3000,"
    line = text[: text.index(old)].count("\n") + 1
    path = tmp_path / "s.yaml"
    path.write_text(text.replace(old, f"seats_per_year: {{value: {written},", 1), encoding="utf-8")
    err = _one_line(*_run(["validate", str(path)], capsys))
    assert err.startswith(f"simopt: {path}:{line}:")
    assert f"courses.level3.seats_per_year.value: {words}" in err


def test_yaml_11_numbers_in_set(long_an_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["validate", str(long_an_path), "--set", "courses.level3.seats_per_year=0100"]
    err = _one_line(*_run(argv, capsys))
    assert err == (
        "simopt: --set courses.level3.seats_per_year: 0100: a leading zero is ambiguous "
        "(YAML 1.1 reads it as octal, 64); write 100\n"
    )


EVIL = "\x1b[31mred\x1b[0m\u202eevil\x9b\x7f"


def test_control_characters_escaped_in_errors(
    long_an: dict[str, Any], write_yaml: Callable[[Any], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    long_an[EVIL] = 1
    err = _one_line(*_run(["validate", str(write_yaml(long_an))], capsys))
    assert "\\x1b[31mred\\x1b[0m\\u202eevil\\x9b\\x7f = 1: unknown field" in err
    assert not any(c in err for c in "\x1b\u202e\x9b\x7f")


def test_control_characters_escaped_in_show(
    long_an: dict[str, Any], write_yaml: Callable[[Any], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    long_an["title"] = f"Title {EVIL}"
    group = long_an["groups"]["public_employees"]
    group["name"] = f"Group\r{EVIL}"
    group["pools"]["pe_staff"]["attributes"] = {"kind": f"attr{EVIL}"}
    rc, out, err = _run(["show", str(write_yaml(long_an))], capsys)
    assert (rc, err) == (0, "")
    assert out.splitlines()[0] == "Title \\x1b[31mred\\x1b[0m\\u202eevil\\x9b\\x7f"
    assert "Group\\x0d\\x1b[31m" in out
    assert "[kind=attr\\x1b[31m" in out
    assert not any(c in out for c in "\x1b\u202e\x9b\x7f\r")
