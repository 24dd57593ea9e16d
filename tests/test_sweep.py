"""Sweeps of the real economy: bad input, executors agree byte for byte, kill and resume.

Runs are short (MONTHS) and few, to keep this file to seconds on a shared machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from hardware_models.errors import InputError
from scenarios.executors import DaskExecutor
from scenarios.sweep import parse_seeds, sweep

MONTHS = 12
AIBUBBLE = str(Path(sys.executable).with_name("aibubble"))
TREND = "investors.trend_strength"
LEAD = "vendors.lead_time_months"


def test_seeds_take_ranges_and_lists() -> None:
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("1,5,9") == [1, 5, 9]
    assert parse_seeds("8-9, 1,2-3") == [1, 2, 3, 8, 9]


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"seeds": "3-1"}, "runs backwards"),
    ({"seeds": "a-b"}, "cannot read"),
    ({"grid": {"investors.trend_strenght": [1, 2]}}, f"unknown parameter.*{TREND}"),
    ({"grid": {LEAD: ["3", "soon"]}}, LEAD),
    ({"random": {TREND: (2.0, 1.0)}, "samples": 4}, "low must be below high"),
    ({"random": {TREND: (0.0, 99.0)}, "samples": 4}, TREND),
    ({"random": {TREND: (0.0, 1.0)}}, "needs --samples"),
    ({"set": [f"{TREND}=1"], "grid": {TREND: [1, 2]}}, "both fixed by --set and swept"),
    ({"scheduler": "tcp://127.0.0.1:9"}, "cannot reach a Dask scheduler"),
])
def test_bad_input_raises_before_any_run(tmp_path: Path, kwargs: dict, needle: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scenarios.executors.CONNECT_TIMEOUT_S", 0.5)
    kwargs = dict(kwargs)
    sets = kwargs.pop("set", ())
    with pytest.raises(InputError, match=needle):
        sweep("baseline", tmp_path / "s", months=MONTHS, sets=sets, progress=False, **kwargs)
    assert not (tmp_path / "s").exists()


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [AIBUBBLE, "sweep", "baseline", "--grid", "investors.trend_strenght=1,2",
         "--out", str(tmp_path / "s")], capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error:") and proc.stderr.count("\n") == 1
    assert TREND in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "s").exists()


def test_identical_runs_parquet_with_1_2_workers_and_dask(tmp_path: Path) -> None:
    common = {"seeds": "0-1", "grid": {TREND: [0.5, 2.0]}, "months": MONTHS, "progress": False}
    one = sweep("baseline", tmp_path / "one", workers=1, **common)
    sweep("baseline", tmp_path / "two", workers=2, **common)
    ex = DaskExecutor("local", workers=1, processes=False)
    try:
        sweep("baseline", tmp_path / "dask", executor=ex, **common)
    finally:
        ex.close()
    blobs = [(tmp_path / d / "runs.parquet").read_bytes() for d in ("one", "two", "dask")]
    assert blobs[0] == blobs[1] == blobs[2]

    assert one.height == 4 and one["run_id"].n_unique() == 4
    assert one["seed"].to_list() == [0, 1, 0, 1] and one[TREND].to_list() == [0.5, 0.5, 2.0, 2.0]
    for col in ("burst", "burst_month", "max_drawdown", "final_hhi_compute", "firms_alive_final"):
        assert col in one.columns
    model = pl.scan_parquet(tmp_path / "one" / "model", hive_partitioning=True)
    assert model.select(pl.len()).collect().item() == 4 * MONTHS
    assert set(model.select("run_id").unique().collect()["run_id"]) == set(one["run_id"])
    meta = json.loads((tmp_path / "one" / "sweep.json").read_text())
    assert meta["scenario"] == "baseline" and meta["version"] and meta["runs"] == 4
    assert meta["command"].startswith("aibubble sweep baseline --seeds 0,1")

    # the same command again does no run: the partitions are untouched
    part = next((tmp_path / "one" / "model").glob("run_id=*/part.parquet"))
    stamp = part.stat().st_mtime_ns
    again = sweep("baseline", tmp_path / "one", workers=1, **common)
    assert again.equals(one) and part.stat().st_mtime_ns == stamp


def test_killed_sweep_resumes_with_every_run_once(tmp_path: Path) -> None:
    out = tmp_path / "s"
    n = 12
    cmd = [AIBUBBLE, "sweep", "baseline", "--seeds", f"0-{n - 1}", "--months", str(MONTHS),
           "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("runs/*.json"))) < 2:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(list(out.glob("runs/*.json")))
    assert 2 <= before < n, "the kill should land mid-sweep"
    assert not (out / "runs.parquet").exists()
    for part in out.glob("model/run_id=*/part.parquet"):  # whatever is there is whole
        assert pl.read_parquet(part).height == MONTHS

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    runs = pl.read_parquet(out / "runs.parquet")
    assert sorted(runs["seed"]) == list(range(n)) and runs["run_id"].n_unique() == n
    assert sorted(p.name for p in (out / "model").iterdir()) == sorted(
        f"run_id={r}" for r in runs["run_id"])
    assert pl.read_parquet(out / "failures.parquet").height == 0
    assert not list((out / ".tmp").iterdir())
