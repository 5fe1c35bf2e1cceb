"""Durable, atomic output: a file is either fully written or not there at all, with the permissions
the user's umask asks for."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is heavy; only callers that already hold a frame pay for it
    import pandas as pd


def current_umask() -> int:
    """The process umask. POSIX can only read it by setting it: set and restore at once (the CLI
    writes from one thread)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """What ``open()`` would give a new file: 0o666 less the umask."""
    return 0o666 & ~current_umask()


def fsync_dir(path: str | Path) -> None:
    """Make a folder's entries (a rename into it, a new file) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new_file(path: str | Path, data: bytes) -> None:
    """Create ``path`` (it must not exist), write and fsync it. Honours the umask, as ``open``."""
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_text_atomic(path: str | Path, text: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        # mkstemp creates 0600 whatever the umask; a result is meant to be read by others
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def csv_text(frame: pd.DataFrame) -> str:
    """The one CSV dialect simopt writes: no index, LF line ends, whatever the platform."""
    return frame.to_csv(index=False, lineterminator="\n")


def json_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_csv_atomic(path: str | Path, frame: pd.DataFrame) -> Path:
    return write_text_atomic(path, csv_text(frame))


def write_json_atomic(path: str | Path, data: Any) -> Path:
    return write_text_atomic(path, json_text(data))
