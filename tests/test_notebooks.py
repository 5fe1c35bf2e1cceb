"""Every notebook runs top to bottom in a real kernel: a notebook that fails fails the build.

Each notebook is executed by nbclient in the project's own Python (the ipykernel of the venv
running the tests, checked from inside the kernel), from a temporary working folder, with a
timeout per cell. The runner injects one cell after the notebook's ``parameters`` cell, as
papermill would: where the scenarios are (the notebook's default is the path from the notebooks
folder). The notebooks in git hold no outputs, open with the question they answer, import only
``simopt.api`` and end with findings computed from their own numbers.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SCENARIOS = ROOT / "scenarios"
CELL_TIMEOUT_S = 600
"""Longest one cell may run: the notebooks are sized to finish in about a minute each, and the
machine running the tests may be shared."""
PARAMETERS = "parameters"
INJECTED = "injected-parameters"
PUBLIC_API = "simopt.api"
_PREFIX_MARK = "kernel sys.prefix="
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _read(path: Path) -> NotebookNode:
    return nbformat.read(path, as_version=4)


def _code(source: str, tag: str) -> NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [tag]
    return cell


def prepared(nb: NotebookNode) -> NotebookNode:
    """The notebook as the runner executes it: a first cell reporting the kernel's Python, and
    the injected parameters right after the ``parameters`` cell."""
    at = next(
        i for i, c in enumerate(nb.cells) if PARAMETERS in c.get("metadata", {}).get("tags", [])
    )
    out = nbformat.from_dict(nb)
    out.cells.insert(at + 1, _code(f"SCENARIOS = {str(SCENARIOS)!r}", INJECTED))
    out.cells.insert(0, _code(f"import sys\nprint({_PREFIX_MARK!r} + sys.prefix)", "kernel-check"))
    return out


def venv_kernel() -> KernelManager:
    # Only ipykernel's own spec, which launches the Python running this process: a "python3"
    # kernelspec in a user's Jupyter folders could point at another interpreter.
    specs = KernelSpecManager(kernel_dirs=[])
    return KernelManager(kernel_name="python3", kernel_spec_manager=specs)


def run_notebook(path: Path, workdir: Path) -> tuple[NotebookNode, float]:
    """Execute the notebook at ``path`` from ``workdir`` (also its temporary folder): the executed
    notebook and seconds taken.
    A failing cell raises :class:`nbclient.exceptions.CellExecutionError` with its traceback."""
    nb = prepared(_read(path))
    client = NotebookClient(
        nb,
        km=venv_kernel(),
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(workdir)}},
        allow_errors=False,
        record_timing=True,
    )
    start = time.perf_counter()
    # the kernel's temporary files (and its Dask workers') go to the working folder: a kernel
    # stopped at the end of the run does not clean up after itself
    client.execute(env={**os.environ, "TMPDIR": str(workdir)})
    return nb, time.perf_counter() - start


def _text_of(output: NotebookNode) -> str:
    if output.get("output_type") == "stream":
        return str(output.get("text", ""))
    data: dict[str, Any] = output.get("data", {})
    return str(data.get("text/markdown") or data.get("text/plain") or "")


def _imports(source: str) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names += [f"{node.module}.{a.name}" for a in node.names]
    return names


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    try:
        nb, seconds = run_notebook(path, tmp_path)
    except CellExecutionError as err:
        # the cell's source and its traceback, without the terminal colours IPython adds
        detail = _ANSI.sub("", str(err))
        pytest.fail(f"{path.name}: {err.ename}: {err.evalue}\n{detail}", pytrace=False)
    print(f"{path.name}: {seconds:.1f} s")
    first = "".join(_text_of(o) for o in nb.cells[0].outputs)
    assert first.strip() == _PREFIX_MARK + sys.prefix, "the kernel is not the venv's Python"
    findings = nb.cells[-1]
    shown = "".join(_text_of(o) for o in findings.outputs).strip()
    # the findings are words computed from the run: an empty last cell has said nothing
    assert len(shown.split()) >= 10, f"{path.name}: the findings cell showed {shown!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped(path: Path) -> None:
    nb = _read(path)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {i} keeps its outputs"
            assert cell.execution_count is None, f"{path.name}: cell {i} keeps its count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_shape(path: Path) -> None:
    nb = _read(path)
    cells = nb.cells
    first = "".join(cells[0].source)
    assert cells[0].cell_type == "markdown" and first.startswith("# "), "opens with a title"
    assert "?" in first.splitlines()[0], "the title is the question the notebook answers"
    code = [c for c in cells if c.cell_type == "code"]
    assert PARAMETERS in code[0].metadata.get("tags", []), "the first code cell is 'parameters'"
    assert re.search(r"^SCENARIOS\s*=", "".join(code[0].source), re.M), "parameters name SCENARIOS"
    heading = "".join(cells[-2].source)
    assert cells[-2].cell_type == "markdown" and re.match(r"#+ Findings", heading)
    assert cells[-1].cell_type == "code", "the findings are computed, not typed"
    for cell in code:
        for name in _imports("".join(cell.source)):
            if name == "simopt" or name.startswith("simopt."):
                assert name == PUBLIC_API or name.startswith(f"{PUBLIC_API}."), (
                    f"{path.name} imports {name}: notebooks use simopt's public API only"
                )
