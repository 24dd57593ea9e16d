"""Parameter studies: SALib sampling and analysis, figures, and a small Morris study end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hardware_models.errors import InputError
from scenarios.study import analyze, sample, study
from scenarios.study_plots import plot_morris, plot_phase, plot_sobol

PROBLEM = {"num_vars": 3, "names": ["a", "b", "c"], "bounds": [[0, 1], [0, 2], [0, 1]]}


def linear(x: np.ndarray) -> np.ndarray:
    """y = 4a + b, c inert: Var = 16/12 + 4/12, so S1 = (0.8, 0.2, 0) exactly."""
    return 4 * x[:, 0] + x[:, 1]


def test_sobol_indices_of_a_known_function() -> None:
    x = sample("sobol", PROBLEM, 256)
    assert x.shape == (256 * (3 + 2), 3)
    assert x[:, 1].max() > 1.5  # bounds are applied
    si = analyze("sobol", PROBLEM, x, linear(x))
    np.testing.assert_allclose(si["S1"], [0.8, 0.2, 0.0], atol=0.05)
    np.testing.assert_allclose(si["ST"], [0.8, 0.2, 0.0], atol=0.05)
    assert np.all(si["S1_conf"] >= 0)
    # fixed seeds: the same call gives the same confidence intervals
    again = analyze("sobol", PROBLEM, x, linear(x))
    np.testing.assert_array_equal(si["S1_conf"], again["S1_conf"])


def test_morris_ranks_a_known_function() -> None:
    x = sample("morris", PROBLEM, 20)
    assert x.shape == (20 * (3 + 1), 3)
    si = analyze("morris", PROBLEM, x, linear(x))
    # SALib's effects are per unit of the normalised range: coefficient x range, so
    # a -> 4 x 1, b -> 1 x 2, c -> 0; a linear function has no spread (sigma 0)
    np.testing.assert_allclose(si["mu_star"], [4.0, 2.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(si["sigma"], [0.0, 0.0, 0.0], atol=1e-9)


def test_constant_metric_gives_nan_not_a_crash() -> None:
    x = sample("sobol", PROBLEM, 8)
    si = analyze("sobol", PROBLEM, x, np.ones(len(x)))
    assert np.isnan(si["S1"]).all() and np.isnan(si["ST"]).all()


def test_figures_are_drawn(tmp_path: Path) -> None:
    frame = pl.DataFrame({"parameter": ["a", "b"], "S1": [0.7, 0.2], "S1_conf": [0.05, 0.04],
                          "ST": [0.75, 0.25], "ST_conf": [0.06, 0.05], "mu_star": [4.0, 2.0],
                          "sigma": [0.5, 0.1], "mu_star_conf": [0.3, 0.2]})
    plot_sobol(frame, "max_drawdown", tmp_path / "s.png")
    plot_morris(frame, "burst", tmp_path / "m.png")
    x = sample("morris", PROBLEM, 10)
    plot_phase(x[:, 0], x[:, 1], (x[:, 0] > 0.5).astype(float), ("a", "b"), "burst", 2,
               tmp_path / "p.png", levels=4)
    for name in ("s.png", "m.png", "p.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_small_morris_study_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "morris"
    params = ["--param", "investors.trend_strength=0.5:2.5", "--param", "vendors.lead_time_months=1:12"]
    cmd = [str(Path(sys.executable).with_name("aibubble")), "study", "baseline", "--method", "morris",
           *params, "--samples", "2", "--metric", "max_drawdown", "--metric", "burst",
           "--months", "24", "--workers", "1", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "mu_star" in proc.stdout

    indices = pl.read_parquet(out / "indices.parquet")
    assert indices.height == 4
    assert set(indices["parameter"]) == {"investors.trend_strength", "vendors.lead_time_months"}
    assert set(indices["metric"]) == {"max_drawdown", "burst"}
    dd = indices.filter(pl.col("metric") == "max_drawdown")
    assert (dd["mu_star"] >= dd["mu"].abs() - 1e-12).all()  # mu* = mean |EE| >= |mean EE|
    assert dd["mu_star"].is_not_nan().all() and (dd["mu_star"] > 0).any()
    runs = pl.read_parquet(out / "runs.parquet")
    assert 1 <= runs.height <= 6 and runs["run_id"].n_unique() == runs.height  # 2 x (D+1) points
    meta = json.loads((out / "study.json").read_text())
    assert meta["method"] == "morris" and meta["points"] == 6
    for name in ("morris_max_drawdown.png", "morris_burst.png", "phase_max_drawdown.png"):
        assert (out / "figures" / name).read_bytes()[:4] == b"\x89PNG"

    # the same study again from Python: no new run, same indices
    again = study("baseline", out, "morris",
                  {"investors.trend_strength": (0.5, 2.5), "vendors.lead_time_months": (1, 12)},
                  2, ["max_drawdown", "burst"], months=24, workers=1, progress=False)
    assert again.equals(indices)


def test_constant_metric_has_zero_morris_effects() -> None:
    x = sample("morris", PROBLEM, 6)
    si = analyze("morris", PROBLEM, x, np.ones(len(x)))
    np.testing.assert_array_equal(si["mu_star"], [0.0, 0.0, 0.0])


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"method": "fast"}, "allowed: sobol, morris"),
    ({"samples": 6}, "power of two"),
    ({"metrics": ["burts"]}, "closest: burst"),
    ({"metrics": ["final_concentration_compute"]}, "is text"),
    ({"params": {"investors.trend_strength": (0.0, 9.0)}}, "investors.trend_strength"),
    ({"params": {"vendors.lead_time_month": (1, 6)}}, "closest: vendors.lead_time_months"),
    ({"phase": ("investors.trend_strength", "rates.base_rate")}, "--phase"),
])
def test_study_bad_input_raises_before_any_run(tmp_path: Path, kwargs: dict, needle: str) -> None:
    args = {"method": "sobol", "samples": 8, "metrics": ["burst"],
            "params": {"investors.trend_strength": (0.0, 3.0), "vendors.lead_time_months": (1, 12)}}
    args.update(kwargs)
    with pytest.raises(InputError, match=needle):
        study("baseline", tmp_path / "s", months=12, progress=False, **args)
    assert not (tmp_path / "s").exists()
