"""A sweep's folder: the experiments table, the outcomes table and a journal that makes an
interrupted sweep resumable.

* ``sweep.json`` — what the sweep is (scenario, design and outcome digests, seed, settings);
  a second run into the same folder must be the same sweep, or it is refused.
* ``experiments.csv`` — the design, written whole (atomically) before anything runs.
* ``outcomes.journal.jsonl`` — one line per finished experiment, appended and flushed as each
  finishes, in whatever order the executor delivers them. A line cut off by a crash does not
  parse and is ignored: that experiment runs again.
* ``outcomes.csv`` — the long outcomes table, sorted by experiment and outcome order, written
  atomically once every experiment has finished (the journal is then removed). Sorting makes the
  bytes independent of the executor and the number of workers.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import IO, Any

import pandas as pd

from simopt.experiments.outcomes import Record
from simopt.iofiles import write_csv_atomic, write_json_atomic

EXPERIMENTS_FILE = "experiments.csv"
OUTCOMES_FILE = "outcomes.csv"
JOURNAL_FILE = "outcomes.journal.jsonl"
META_FILE = "sweep.json"
OUTCOME_COLUMNS = ["experiment", "outcome", "value", "status"]
SYNC_EVERY = 64
"""Finished experiments between two fsyncs of the journal (each line is flushed at once)."""


class SweepFolderError(ValueError):
    """The folder holds another sweep."""


class SweepStore:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._journal: IO[str] | None = None
        self._unsynced = 0

    def open(self, meta: dict[str, Any], experiments: pd.DataFrame) -> dict[int, list[Record]]:
        """Start or resume; returns the experiments already finished (by number)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        meta_path = self.folder / META_FILE
        if meta_path.exists():
            recorded = json.loads(meta_path.read_text(encoding="utf-8"))
            differs = [
                k for k in sorted(set(meta) | set(recorded)) if meta.get(k) != recorded.get(k)
            ]
            if differs:
                raise SweepFolderError(
                    f"{self.folder}: holds another sweep (its {', '.join(differs)} differ); "
                    "resume it with the same arguments, or choose another --out"
                )
        else:
            leftovers = sorted(f.name for f in self.folder.iterdir())
            if leftovers:
                # without its sweep.json nothing says these files belong to this sweep
                raise SweepFolderError(
                    f"{self.folder}: holds files that are not this sweep's "
                    f"({', '.join(leftovers[:3])}{', …' if len(leftovers) > 3 else ''}); "
                    "choose an empty or new folder for --out"
                )
            write_json_atomic(meta_path, meta)
        if not (self.folder / EXPERIMENTS_FILE).exists():
            write_csv_atomic(self.folder / EXPERIMENTS_FILE, experiments)
        done = self.finished()
        self._drop_torn_line()
        self._journal = open(self.folder / JOURNAL_FILE, "a", encoding="utf-8")  # noqa: SIM115
        return done

    def _drop_torn_line(self) -> None:
        """Cut a last line left half written by a crash, so the next record starts a line."""
        path = self.folder / JOURNAL_FILE
        if not path.exists():
            return
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def finished(self) -> dict[int, list[Record]]:
        """Experiments the journal (or a finished outcomes table) records."""
        final = self.folder / OUTCOMES_FILE
        if final.exists():
            frame = pd.read_csv(final, keep_default_na=False, na_values=[""])
            out: dict[int, list[Record]] = {}
            for e, o, v, s in zip(
                frame["experiment"].astype(int).tolist(),
                frame["outcome"].astype(str).tolist(),
                frame["value"].astype(float).tolist(),
                frame["status"].astype(str).tolist(),
                strict=True,
            ):
                out.setdefault(e, []).append((o, v, s))
            return out
        path = self.folder / JOURNAL_FILE
        done: dict[int, list[Record]] = {}
        if not path.exists():
            return done
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # cut off by a crash: that experiment runs again
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                done[int(entry["experiment"])] = [
                    (str(o), math.nan if v is None else float(v), str(s))
                    for o, v, s in entry["outcomes"]
                ]
        return done

    def record(self, experiment: int, records: list[Record]) -> None:
        assert self._journal is not None
        entry = {
            "experiment": experiment,
            "outcomes": [[o, None if math.isnan(v) else v, s] for o, v, s in records],
        }
        self._journal.write(json.dumps(entry) + "\n")
        self._journal.flush()
        self._unsynced += 1
        if self._unsynced >= SYNC_EVERY:
            os.fsync(self._journal.fileno())
            self._unsynced = 0

    def close(self) -> None:
        if self._journal is not None:
            self._journal.flush()
            os.fsync(self._journal.fileno())
            self._journal.close()
            self._journal = None

    def finish(self, outcomes: pd.DataFrame) -> None:
        """Write the sorted outcomes table and drop the journal."""
        self.close()
        write_csv_atomic(self.folder / OUTCOMES_FILE, outcomes)
        (self.folder / JOURNAL_FILE).unlink(missing_ok=True)
