"""Run folders and their manifests.

Every computing command writes one folder, ``results/<scenario>/<run-id>/`` or ``--out DIR``. It
is built whole in a hidden ``.tmp-…`` folder beside the target (same file system), every file and
the folder fsynced, and renamed into place: a run folder is either absent or complete, and a new
run never overwrites or deletes another unless ``--replace`` says so. ``manifest.json`` is written
last and records what is needed to redo the run: the resolved scenario, the options, the versions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import platform
import secrets
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simopt.iofiles import csv_text, fsync_dir, json_text, write_new_file

if TYPE_CHECKING:
    import pandas as pd

    from simopt.scenario import Scenario

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
LATEST = "latest"
TMP_PREFIX = ".tmp-"
OLD_PREFIX = ".old-"
RESULTS = Path("results")
PACKAGES = ("numpy", "scipy", "pandas", "pulp", "highspy", "simpy", "pydantic", "pyyaml")
# Fields of a table that record when or how long, not what: a rerun ignores them.
TIMING_KEYS = frozenset({"timings", "seconds", "elapsed_seconds", "started_utc", "finished_utc"})
# Tests widen the write phase with this (seconds slept after each file) to kill a run inside it.
SLOW_WRITES_ENV = "SIMOPT_TEST_SLOW_WRITES"


class RunError(Exception):
    """The run folder cannot be made as asked (a user error: exit 2, one line)."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_run_id(command: str, now: dt.datetime | None = None) -> str:
    """``20261123T235959.123456Z-plan-ab12cd``: sorts by start time (microseconds, since two
    runs often start within a second of each other), unique by its random tail."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S.%f}Z-{command}-{secrets.token_hex(3)}"


MAX_MANIFEST_BYTES = 64 * 1024 * 1024
"""A manifest holds a scenario and some hashes: far below this; larger is not one of ours."""


def is_run(path: Path) -> bool:
    """A folder simopt wrote: its manifest parses and has simopt's format, run id and table list
    (a file merely named manifest.json — web apps have them — is not enough)."""
    try:
        read_manifest(path)
    except RunError:
        return False
    return True


def _check_target(target: Path, *, replace: bool) -> None:
    """Refuse to build onto anything but nothing, an empty folder, or (with --replace) a run."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise RunError(f"{target}: exists and is not a folder; choose another --out")
    if not target.exists() or not any(target.iterdir()):
        return
    if not is_run(target):
        # Deliberately not overridable by --replace: `--out . --replace` must not delete a project.
        raise RunError(
            f"{target}: exists and is not a simopt run (no simopt {MANIFEST}); simopt replaces "
            "only its own runs — choose another --out or remove it yourself"
        )
    if not replace:
        raise RunError(
            f"{target}: holds an earlier run; add --replace to replace it or choose another --out"
        )


@dataclass
class RunFolder:
    """A run being written: files go into ``tmp`` and the whole folder becomes ``target``."""

    run_id: str
    target: Path
    tmp: Path
    replace: bool
    latest_dir: Path | None
    """Where ``latest`` is kept (results/<scenario>/); None for --out runs, kept elsewhere."""
    lock_fd: int | None = None
    files: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    started_utc: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    commit_seconds: float = 0.0
    """How long the manifest, the fsyncs and the renames took (what a run folder costs)."""
    _slow: float = field(default_factory=lambda: float(os.environ.get(SLOW_WRITES_ENV, "0")))

    committed: bool = False

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        # anything but a commit — an error, Ctrl-C, an early return — leaves no temporary folder
        if not self.committed:
            self.abort()

    def write_bytes(self, name: str, data: bytes) -> None:
        if name in self.files or "/" in name or name == MANIFEST:
            raise ValueError(f"{name}: not a new table name")
        write_new_file(self.tmp / name, data)
        self.files[name] = sha256_bytes(data)
        if self._slow:
            time.sleep(self._slow)

    def write_csv(self, name: str, frame: pd.DataFrame | None) -> None:
        """A table; None writes nothing (an infeasible run has no schedule)."""
        if frame is not None:
            self.write_bytes(name, csv_text(frame).encode("utf-8"))

    def write_json(self, name: str, data: Any) -> None:
        self.write_bytes(name, json_text(data).encode("utf-8"))

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Write the manifest last, then move the folder into place whole."""
        write_seconds = time.monotonic()
        manifest = {**manifest, "run_id": self.run_id, "files": dict(sorted(self.files.items()))}
        write_new_file(self.tmp / MANIFEST, json_text(manifest).encode("utf-8"))
        fsync_dir(self.tmp)
        if self._slow:
            time.sleep(self._slow)
        parent = self.target.parent
        old: Path | None = None
        try:
            _check_target(self.target, replace=self.replace)  # again: it may have changed
            if self.replace and is_run(self.target):
                old = parent / f"{OLD_PREFIX}{self.target.name}-{secrets.token_hex(3)}"
                os.rename(self.target, old)
            # onto nothing or an empty folder: rename(2) is atomic and never merges contents
            os.rename(self.tmp, self.target)
        except BaseException as exc:  # Ctrl-C between the two renames too: never lose a run
            if old is not None and not self.target.exists():
                os.rename(old, self.target)  # put the earlier run back
            if isinstance(exc, OSError):
                raise RunError(
                    f"{self.target}: cannot move the run into place ({exc.strerror})"
                ) from None
            raise
        fsync_dir(parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if self.latest_dir is not None:
            point_latest(self.latest_dir, self.target.name)
        self.committed = True
        self.release()
        self.commit_seconds = time.monotonic() - write_seconds
        return self.target

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # closing drops the flock
            self.lock_fd = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def open_run(
    command: str, scenario_name: str, *, out: str | None = None, replace: bool = False
) -> RunFolder:
    """Check the target and lock it before any work, so that a refusal costs nothing."""
    run_id = new_run_id(command)
    if out is None:
        latest_dir: Path | None = RESULTS / scenario_name
        target = RESULTS / scenario_name / run_id
    else:
        latest_dir = None
        # resolved, so that "." and ".." have real names for the lock and the temporary folder
        target = Path(out).resolve()
    # refuse a target that can never be used before creating anything (no stray lock or folder)
    _check_target(target, replace=replace)
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{parent}: cannot create the folder ({exc.strerror})") from None
    lock_fd = None
    if out is not None:
        # Two runs into one --out: the second is told at once rather than after an hour's work.
        # The lock file stays (removing it would let a third run lock a different inode).
        lock_path = parent / f".{target.name}.lock"
        lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise RunError(
                f"{target}: another simopt run is writing there; "
                "wait for it or choose another --out"
            ) from None
    try:
        _check_target(target, replace=replace)
        tmp = parent / f"{TMP_PREFIX}{target.name}-{secrets.token_hex(4)}"
        os.mkdir(tmp)  # mode 0o777 less the umask, like any folder the user makes
    except BaseException:
        if lock_fd is not None:
            os.close(lock_fd)
        raise
    return RunFolder(run_id, target, tmp, replace, latest_dir, lock_fd)


def point_latest(folder: Path, run_name: str) -> None:
    """Point ``folder/latest`` at ``run_name`` by renaming a new symlink over the old one."""
    link = folder / f".latest-{secrets.token_hex(4)}"
    try:
        os.symlink(run_name, link)
        os.replace(link, folder / LATEST)
        fsync_dir(folder)
    except OSError as exc:
        with contextlib.suppress(OSError):
            link.unlink()
        print(f"simopt: warning: {folder / LATEST} not updated ({exc.strerror})", file=sys.stderr)


# --------------------------------------------------------------------------- the manifest


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("simopt", *PACKAGES):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def resolved_yaml(file: str, sets: Sequence[str]) -> str:
    """The scenario as data after --set, notes and ranges kept, as YAML (JSON would turn the
    level tables' whole-number keys into text). Called after the scenario loaded, so it cannot
    fail on bad input."""
    import yaml

    from simopt.overrides import apply_overrides, parse_assignment
    from simopt.yamlio import parse_yaml_text

    text = Path(file).read_bytes().decode("utf-8-sig")
    data, _ = parse_yaml_text(text, file=file)
    if sets:
        data = apply_overrides(data, dict(parse_assignment(s) for s in sets), file=file)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def record_scenario(file: str, sets: Sequence[str], scenario: Scenario) -> dict[str, Any]:
    """The scenario as run: its file and hash, the --set list, the resolved data and its hash."""
    raw = Path(file).read_bytes()
    resolved = scenario.model_dump(mode="json")
    text = resolved_yaml(file, sets)
    canonical = json.dumps(resolved, sort_keys=True, ensure_ascii=False) + "\n" + text
    return {
        "file": file,
        "file_sha256": sha256_bytes(raw),
        "name": scenario.name,
        "sets": list(sets),
        "resolved_sha256": sha256_bytes(canonical.encode("utf-8")),
        "resolved": resolved,
        "resolved_yaml": text,
    }


def build_manifest(
    *,
    command: str,
    argv: Sequence[str],
    options: Mapping[str, Any],
    scenarios: Sequence[dict[str, Any]],
    status: str,
    exit_code: int,
    run: RunFolder,
    rerun_of: str | None = None,
) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "command": command,
        "argv": list(argv),
        "options": dict(options),
        "status": status,
        "exit_code": exit_code,
        "scenarios": list(scenarios),
        "versions": versions(),
        "platform": platform.platform(),
        "rerun_of": rerun_of,
        "started_utc": run.started_utc,
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(),
        "timings": {"compute_seconds": round(run.elapsed, 3)},
    }


def read_manifest(folder: str | Path) -> dict[str, Any]:
    import stat

    path = Path(folder) / MANIFEST
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise RunError(f"{path}: is not a regular file, so not a simopt manifest")
        if info.st_size > MAX_MANIFEST_BYTES:
            raise RunError(f"{path}: is {info.st_size:,} bytes, too large for a simopt manifest")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{folder}: not a simopt run (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: cannot be read as a manifest ({exc})") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != MANIFEST_FORMAT
        or not isinstance(data.get("argv"), list)
        or not all(isinstance(a, str) for a in data["argv"])
        or not isinstance(data.get("run_id"), str)
        or not isinstance(data.get("files"), dict)
    ):
        raise RunError(f"{path}: not a manifest this simopt can rerun (format {MANIFEST_FORMAT})")
    return data


def load_recorded(record: Mapping[str, Any], manifest_path: str) -> Scenario:
    """The scenario exactly as it was run, from the manifest rather than from its file."""
    import yaml

    from simopt.scenario import build_scenario

    try:
        data = yaml.safe_load(record["resolved_yaml"])
    except (yaml.YAMLError, KeyError, TypeError):
        raise RunError(f"{manifest_path}: its recorded scenario cannot be read") from None
    if not isinstance(data, dict):
        raise RunError(f"{manifest_path}: its recorded scenario is not a scenario")
    return build_scenario(data, file=f"{record.get('file')} (as recorded in {manifest_path})")


def verify_tables(folder: Path, manifest: Mapping[str, Any]) -> None:
    """Every table of a run as its manifest hashed it: a rerun compared with a run edited since
    would blame the computation for the edit."""
    changed = []
    for name, digest in manifest["files"].items():
        path = folder / str(name)
        try:
            if not path.is_file() or sha256_bytes(path.read_bytes()) != digest:
                changed.append(str(name))
        except OSError:
            changed.append(str(name))
    if changed:
        raise RunError(
            f"{folder}: {', '.join(changed)} changed or missing since the run (their hashes differ "
            "from the manifest's); a rerun would compare with something simopt did not write"
        )


def source_changed(record: Mapping[str, Any]) -> str | None:
    """Why the scenario file no longer is what was run, or None."""
    try:
        now = sha256_bytes(Path(record["file"]).read_bytes())
    except OSError:
        return f"{record['file']} is gone"
    if now != record["file_sha256"]:
        return f"{record['file']} has changed since the run"
    return None


# --------------------------------------------------------------------------- rerun comparison


def _strip_timings(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _strip_timings(v) for k, v in data.items() if k not in TIMING_KEYS}
    if isinstance(data, list):
        return [_strip_timings(v) for v in data]
    return data


def _same(a: Path, b: Path) -> bool:
    left, right = a.read_bytes(), b.read_bytes()
    if left == right:
        return True
    if a.suffix == ".json":
        try:
            return bool(_strip_timings(json.loads(left)) == _strip_timings(json.loads(right)))
        except ValueError:
            return False
    return False


@dataclass(frozen=True)
class RunDiff:
    identical: list[str]
    different: list[str]
    missing: list[str]
    """In the earlier run only."""
    extra: list[str]
    """In the new run only."""
    why: str | None

    @property
    def ok(self) -> bool:
        return not (self.different or self.missing or self.extra)


def compare_runs(old: Path, new: Path) -> RunDiff:
    """Every table of two runs (the manifest aside), byte for byte; JSON without its timings."""
    names_old = {p.name for p in old.iterdir() if p.is_file() and p.name != MANIFEST}
    names_new = {p.name for p in new.iterdir() if p.is_file() and p.name != MANIFEST}
    both = sorted(names_old & names_new)
    same = [n for n in both if _same(old / n, new / n)]
    diff = RunDiff(
        identical=same,
        different=[n for n in both if n not in same],
        missing=sorted(names_old - names_new),
        extra=sorted(names_new - names_old),
        why=None,
    )
    if diff.ok:
        return diff
    return RunDiff(**{**diff.__dict__, "why": _why(read_manifest(old), read_manifest(new))})


def _why(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    va, vb = a.get("versions", {}), b.get("versions", {})
    changed = [
        f"{k} {va.get(k)} → {vb.get(k)}"
        for k in sorted(set(va) | set(vb))
        if va.get(k) != vb.get(k)
    ]
    if changed:
        return "other versions: " + ", ".join(changed)
    if a.get("platform") != b.get("platform"):
        return f"another platform: {a.get('platform')} → {b.get('platform')}"
    if a.get("status") != b.get("status"):
        return f"the status changed: {a.get('status')} → {b.get('status')}"
    return (
        "same versions and platform: the computation is not deterministic here (please report it)"
    )
