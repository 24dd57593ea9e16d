"""A sweep's folder on disk: every write atomic, so a kill at any moment loses nothing done.

    DIR/model/run_id=<id>/part.parquet   monthly rows of one run (hive-partitioned)
    DIR/runs/<id>.json                   that run's seed, swept parameters and summary
    DIR/failures/<id>.json               a run that raised: its error text
    DIR/runs.parquet, DIR/failures.parquet   rebuilt from the per-run files
    DIR/.tmp/                            work in progress, never read

A run counts as finished when its summary file exists; the summary is written only after
the run's partition is in place, and each is renamed into place whole. runs.parquet is
rebuilt from the per-run files in plan order, so its bytes do not depend on which worker
finished first.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from hardware_models.errors import InputError


@dataclass(frozen=True)
class RunSpec:
    """One run to do: its id, the swept parameter point, the seed, and what the task needs."""

    run_id: str
    point: int
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    payload: Any = None
    months: int | None = None


@dataclass(frozen=True)
class RunOutput:
    """What a task returns: the run's monthly rows and its summary metrics."""

    model: pl.DataFrame
    summary: dict[str, Any]


def _plain(value: Any) -> Any:
    """numpy scalars to Python ones, so json can write them."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


def _write_atomic(path: Path, data: bytes, tmp_dir: Path) -> None:
    tmp = tmp_dir / f"{path.name}.{uuid.uuid4().hex}"
    tmp.write_bytes(data)
    os.replace(tmp, path)


class SweepStore:
    """The files of one sweep folder."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.model_dir = self.out / "model"
        self.runs_dir = self.out / "runs"
        self.fail_dir = self.out / "failures"
        self.tmp_dir = self.out / ".tmp"
        self._lock: int | None = None

    def prepare(self) -> None:
        """Take the folder's lock; create the folders; drop leftovers of a killed sweep
        (temp files, partitions whose summary was never written).

        The lock (released by the OS even on SIGKILL) keeps a second sweep from cleaning up
        files the first is still writing.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        self._lock = os.open(self.out / ".lock", os.O_CREAT | os.O_RDWR)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            self._lock = None
            raise InputError(f"--out {self.out}: another sweep is writing there; wait for it "
                             "or choose another folder") from None
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        for d in (self.model_dir, self.runs_dir, self.fail_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        done = self.finished()
        for part in self.model_dir.glob("run_id=*"):
            if part.name.removeprefix("run_id=") not in done:
                shutil.rmtree(part)

    def close(self) -> None:
        """Release the folder's lock."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def finished(self) -> set[str]:
        """Ids of runs with both their summary and their monthly rows in place."""
        return {
            p.stem for p in self.runs_dir.glob("*.json")
            if (self.model_dir / f"run_id={p.stem}" / "part.parquet").exists()
        }

    def write_json(self, name: str, obj: Any) -> None:
        """A JSON file at the top of the folder (e.g. sweep.json), written atomically."""
        data = json.dumps(obj, indent=2, sort_keys=False, default=str).encode()
        _write_atomic(self.out / name, data, self.tmp_dir)

    def commit(self, spec: RunSpec, output: RunOutput) -> None:
        """Put one run's results in place: partition first, then its summary (the marker)."""
        if not isinstance(output.model, pl.DataFrame):
            raise TypeError(f"task returned {type(output.model).__name__}, not a polars DataFrame")
        frame = output.model.drop("run_id", strict=False).select(
            pl.lit(spec.run_id).alias("run_id"), pl.all()
        )
        staging = self.tmp_dir / f"{spec.run_id}.{uuid.uuid4().hex}"
        staging.mkdir()
        frame.write_parquet(staging / "part.parquet")
        final = self.model_dir / f"run_id={spec.run_id}"
        if final.exists():  # a partition left by a kill between the two renames
            shutil.rmtree(final)
        os.rename(staging, final)
        record = {
            "run_id": spec.run_id,
            "seed": spec.seed,
            "point": spec.point,
            "params": {k: _plain(v) for k, v in spec.params.items()},
            "summary": {k: _plain(v) for k, v in output.summary.items()},
        }
        _write_atomic(self.runs_dir / f"{spec.run_id}.json", json.dumps(record).encode(), self.tmp_dir)
        (self.fail_dir / f"{spec.run_id}.json").unlink(missing_ok=True)

    def record_failure(self, spec: RunSpec, error: str, tb: str | None) -> None:
        """Note a run that raised; a later sweep over the same folder tries it again."""
        record = {
            "run_id": spec.run_id,
            "seed": spec.seed,
            "point": spec.point,
            "params": {k: _plain(v) for k, v in spec.params.items()},
            "error": error,
            "traceback": tb or "",
        }
        _write_atomic(self.fail_dir / f"{spec.run_id}.json", json.dumps(record).encode(), self.tmp_dir)

    def rebuild(self, specs: Sequence[RunSpec]) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Write runs.parquet and failures.parquet for the planned runs, in plan order."""
        done = self.finished()
        rows: list[dict[str, Any]] = []
        fails: list[dict[str, Any]] = []
        for spec in specs:
            if spec.run_id in done:
                rec = json.loads((self.runs_dir / f"{spec.run_id}.json").read_text())
                rows.append({"run_id": rec["run_id"], "seed": rec["seed"], "point": rec["point"],
                             **rec["params"], **rec["summary"]})
            elif (self.fail_dir / f"{spec.run_id}.json").exists():
                rec = json.loads((self.fail_dir / f"{spec.run_id}.json").read_text())
                fails.append({"run_id": rec["run_id"], "seed": rec["seed"], "point": rec["point"],
                              **rec["params"], "error": rec["error"], "traceback": rec["traceback"]})
        base = {"run_id": pl.String, "seed": pl.Int64, "point": pl.Int64}
        runs = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(schema=base)
        failures = (
            pl.DataFrame(fails, infer_schema_length=None) if fails
            else pl.DataFrame(schema={**base, "error": pl.String, "traceback": pl.String})
        )
        for name, frame in (("runs.parquet", runs), ("failures.parquet", failures)):
            tmp = self.tmp_dir / f"{name}.{uuid.uuid4().hex}"
            frame.write_parquet(tmp)
            os.replace(tmp, self.out / name)
        return runs, failures
