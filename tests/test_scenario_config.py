"""Scenario files and --set overrides: validation with one clear message, and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.config import (
    ScenarioError,
    library_names,
    load_scenario,
    parameter_paths,
)
from world.params import EconomyParams

AIBUBBLE = str(Path(sys.executable).with_name("aibubble"))


def test_every_library_scenario_loads() -> None:
    assert "baseline" in library_names()
    for name in library_names():
        sc = load_scenario(name)
        assert isinstance(sc.params, EconomyParams) and sc.months >= 1


def test_overrides_parse_by_field_type() -> None:
    sc = load_scenario("baseline", ["investors.trend_following=false", "hyperscalers.construction_lag_months=0",
                                    "demand.coding.elasticity=1.5", "run.start=2024-06"])
    assert sc.params.investors.trend_following is False
    assert sc.params.hyperscalers.construction_lag_months == 0
    assert sc.params.demand.coding.elasticity == 1.5
    assert sc.start == "2024-06"
    sc2 = load_scenario("baseline", {"policy.export_controls": False})
    assert sc2.params.policy.export_controls is False


def test_parameter_paths_lists_settable_keys() -> None:
    paths = parameter_paths(load_scenario("baseline"))
    assert paths["investors.trend_following"] is True
    assert paths["hyperscalers.construction_lag_months"] == 18
    assert "demand.chat.elasticity" in paths
    assert not any(k.startswith(("events", "architectures")) for k in paths)


@pytest.mark.parametrize(("override", "needles"), [
    ("investors.trend_folowing=false", ["investors.trend_folowing", "closest: investors.trend_following"]),
    ("hyperscalers.construction_lag_months=-3", ["hyperscalers.construction_lag_months", "'-3'", "greater than or equal to 0"]),
    ("investors.trend_following=maybe", ["investors.trend_following", "'maybe'", "boolean"]),
    ("run.months", ["key=value"]),
])
def test_bad_overrides_name_field_value_and_allowed(override: str, needles: list[str]) -> None:
    with pytest.raises(ScenarioError) as exc:
        load_scenario("baseline", [override])
    for n in needles:
        assert n in str(exc.value)


def test_bad_file_names_file_field_and_closest(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[investors]\nherdin = 2.0\n')
    with pytest.raises(ScenarioError, match=r"bad\.toml.*investors\.herdin.*closest: herding"):
        load_scenario(bad)
    bad.write_text('[[events]]\nkind = "architecture"\ndate = "2024-01"\nmodel_id = "deepsek-v3"\n')
    with pytest.raises(ScenarioError, match=r"bad\.toml.*events\.0\.model_id.*deepseek-v3"):
        load_scenario(bad)
    bad.write_text('[[events]]\nkind = "rate_change"\ndate = "2024-13"\nrate = 0.02\n')
    with pytest.raises(ScenarioError, match=r"events\.0\.date = '2024-13'"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="closest: baseline"):
        load_scenario("baselin")


def test_cli_bad_input_exits_2_one_line_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run([AIBUBBLE, "run", "baseline", "--set", "investors.herdng=1", "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error:") and "investors.herding" in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_runs_and_writes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run([AIBUBBLE, "run", "baseline", "--seed", "2", "--months", "6", "--out", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (out / "model.parquet").exists() and (out / "report.md").exists()
    assert "report:" in proc.stdout


def test_cli_out_that_is_a_file_is_refused_untouched(tmp_path: Path) -> None:
    f = tmp_path / "afile"
    f.write_text("keep me")
    proc = subprocess.run([AIBUBBLE, "run", "baseline", "--months", "2", "--out", str(f)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "not a directory" in proc.stderr and "Traceback" not in proc.stderr
    assert f.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_burst_line_dates_the_burst_and_gives_its_own_depth() -> None:
    """The run's max drawdown can come from a fall before the boom (seed 0 of the baseline
    falls 65% from its 2023 opening, its burst 62% from the 2028 peak): the line must give
    the burst's depth and dates, not the run's worst fall."""
    import polars as pl

    from scenarios.report import _chain, burst_line

    dates = ["2023-01", "2023-02", "2023-03", "2023-04", "2023-05"]
    s = {"burst": True, "burst_month": 3, "burst_peak_month": 1, "burst_depth": 0.62, "max_drawdown": 0.65}
    assert burst_line(s, dates) == "burst in 2023-04 (valuation -62% at the trough from its 2023-02 peak)"
    assert burst_line({"burst": False, "max_drawdown": 0.3}, dates) == "no burst (max drawdown 30%)"
    ev = pl.DataFrame({"step": [2, 3], "kind": ["fire_sale", "fire_sale"]})
    chain = _chain(s, ev, dates)
    assert chain[0] == "## The chain of events before the burst (2023-04, month 3)"
    assert "| fire_sale | 2 |" in chain
