"""The sweep engine on its own: executors, atomic store, resume, failures, progress.

The task functions here are real module-level functions run by the real executors (the
pool's workers import this module), so these test the machinery independent of the
economy; tests/test_sweep.py does the same with the real model (and the SIGKILL test).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from scenarios.executors import DaskExecutor, PoolExecutor, SerialExecutor
from scenarios.sweep import execute
from scenarios.sweep_store import RunOutput, RunSpec


def toy_task(spec: RunSpec) -> RunOutput:
    """A seeded random walk; x == 13 raises and x == 66 kills its worker process."""
    x = float(spec.params.get("x", 1.0))
    if x == 13:
        raise ValueError("x=13 is unlucky")
    if x == 66:
        os._exit(1)  # as an out-of-memory kill would
    rng = np.random.default_rng([spec.seed, 7])
    walk = x * rng.random(12).cumsum()
    model = pl.DataFrame({"step": np.arange(12), "value": walk})
    return RunOutput(model, {"final": float(walk[-1]), "burst": bool(walk[-1] > 6 * x)})


def toy_specs(xs: list[float], seeds: list[int]) -> list[RunSpec]:
    return [RunSpec(f"x{x:g}-s{s}", i, s, {"x": x}) for i, x in enumerate(xs) for s in seeds]


def test_runs_parquet_identical_across_executors(tmp_path: Path) -> None:
    specs = toy_specs([0.5, 1.0, 2.0], list(range(4)))
    blobs = []
    for name, ex in (("serial", SerialExecutor()), ("pool", PoolExecutor(2)),
                     ("dask", DaskExecutor("local", workers=1, processes=False))):
        try:
            runs, failures = execute(specs, tmp_path / name, ex, task=toy_task, progress=False)
        finally:
            ex.close()
        assert runs.height == 12 and failures.height == 0
        blobs.append((tmp_path / name / "runs.parquet").read_bytes())
        model = pl.scan_parquet(tmp_path / name / "model", hive_partitioning=True).collect()
        assert model.height == 12 * 12
        assert sorted(model["run_id"].unique()) == sorted(s.run_id for s in specs)
    assert blobs[0] == blobs[1] == blobs[2]
    # plan order, not arrival order
    assert runs["run_id"].to_list() == [s.run_id for s in specs]


def test_failing_run_is_recorded_and_others_finish(tmp_path: Path) -> None:
    specs = toy_specs([1.0, 13.0, 2.0], [0, 1])
    ex = PoolExecutor(2)
    try:
        runs, failures = execute(specs, tmp_path, ex, task=toy_task, progress=False)
    finally:
        ex.close()
    assert runs.height == 4 and set(runs["x"]) == {1.0, 2.0}
    assert failures.height == 2 and set(failures["x"]) == {13.0}
    assert failures["error"].str.contains("ValueError: x=13 is unlucky").all()
    on_disk = pl.read_parquet(tmp_path / "failures.parquet")
    assert on_disk["run_id"].to_list() == ["x13-s0", "x13-s1"]
    assert not (tmp_path / "model" / "run_id=x13-s0").exists()


def test_dead_worker_fails_its_runs_and_the_sweep_goes_on(tmp_path: Path) -> None:
    specs = toy_specs([66.0], [0]) + toy_specs([1.0, 2.0], [0, 1, 2, 3, 4])
    ex = PoolExecutor(2)
    try:
        runs, failures = execute(specs, tmp_path, ex, task=toy_task, progress=False)
    finally:
        ex.close()
    assert "x66-s0" in set(failures["run_id"])
    assert failures["error"].str.starts_with("worker process died").all()
    # at most 4 runs were in flight with the killer; a fresh pool does all the rest
    assert failures.height <= 4 and runs.height + failures.height == 11
    assert set(runs["run_id"]).isdisjoint(failures["run_id"])


def test_resume_does_only_the_rest(tmp_path: Path) -> None:
    specs = toy_specs([1.0, 2.0], [0, 1, 2])
    execute(specs[:2], tmp_path, SerialExecutor(), task=toy_task, progress=False)
    stamp = (tmp_path / "model" / f"run_id={specs[0].run_id}" / "part.parquet").stat().st_mtime_ns
    calls: list[str] = []

    class Counting(SerialExecutor):
        def imap_unordered(self, fn, items):  # type: ignore[no-untyped-def]
            calls.extend(i.run_id for i in items)
            return super().imap_unordered(fn, items)

    runs, _ = execute(specs, tmp_path, Counting(), task=toy_task, progress=False)
    assert calls == [s.run_id for s in specs[2:]]
    assert runs.height == 6
    assert (tmp_path / "model" / f"run_id={specs[0].run_id}" / "part.parquet").stat().st_mtime_ns == stamp


def test_plain_progress_lines_when_not_a_tty(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    execute(toy_specs([1.0], [0, 1, 2]), tmp_path, SerialExecutor(), task=toy_task,
            label="sweep toy", progress=False)
    err = capsys.readouterr().err
    assert "sweep toy: 3/3 runs, 0 failed" in err and "runs/s" in err


def test_second_sweep_into_a_busy_folder_is_refused(tmp_path: Path) -> None:
    from hardware_models.errors import InputError
    from scenarios.sweep_store import SweepStore

    first = SweepStore(tmp_path)
    first.prepare()
    try:
        with pytest.raises(InputError, match="another sweep is writing there"):
            execute(toy_specs([1.0], [0]), tmp_path, SerialExecutor(), task=toy_task, progress=False)
    finally:
        first.close()
    runs, _ = execute(toy_specs([1.0], [0]), tmp_path, SerialExecutor(), task=toy_task, progress=False)
    assert runs.height == 1


def test_live_progress_bar_shows_done_failed_rate() -> None:
    import io

    from scenarios.progress import SweepProgress

    stream = io.StringIO()
    bar = SweepProgress(3, "sweep toy", stream=stream, live=True)
    for ok in (True, False, True):
        bar.advance(ok)
    bar.close()
    text = stream.getvalue()
    assert "sweep toy" in text and "3/3" in text and "failed 1" in text and "runs/s" in text
