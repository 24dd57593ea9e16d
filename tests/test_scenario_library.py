"""Every library scenario runs, its events happen on their dates, and it shows its signature.

Short runs (a few years, two seeds) keep this fast; benchmarks/stylized_facts.py runs the
full horizon over many seeds. Signatures compare a scenario with its counterfactual on the
same seeds, so they test the scenario's own mechanism rather than a level that calibration
may move.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import polars as pl
import pytest

from scenarios.config import Scenario, library_names, load_scenario
from scenarios.run import RunResult, run
from world.params import ArchitectureEvent

SCENARIOS = (
    "baseline",
    "deepseek_moment",
    "china_compute_famine",
    "capex_supercycle",
    "rate_shock",
    "agentic_jevons",
)
SEEDS = (0, 1)
MONTHS = 48  # to 2026-12: every scenario's first shock is at least 18 months behind


@cache
def _run(name: str, seed: int, overrides: tuple[tuple[str, object], ...] = (), months: int = MONTHS) -> RunResult:
    return run(name, seed=seed, months=months, overrides=dict(overrides))


def _run_params(scenario: Scenario, seed: int) -> RunResult:
    return run(scenario, seed=seed, months=MONTHS)


def _mean(result: RunResult, column: str, start: str, end: str) -> float:
    m = result.model.filter((pl.col("date") >= start) & (pl.col("date") <= end))
    assert m.height > 0, (column, start, end)
    return float(m[column].mean())


def test_library_holds_the_issue_scenarios() -> None:
    assert set(SCENARIOS) <= set(library_names())


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_runs_and_logs_its_events(name: str) -> None:
    """Runs without a ledger breach; each dated event inside the run shows in events."""
    scenario = load_scenario(name)
    assert scenario.description, f"{name}: [scenario] description is empty"
    result = _run(name, 0)
    assert result.model.height == MONTHS
    assert set(result.summary) >= {"burst", "max_drawdown", "final_hhi_compute", "api_price_decline"}
    logged = result.events.filter(pl.col("kind").str.starts_with("policy:"))
    dates = result.model["date"].to_list()
    for e in scenario.params.events:
        if e.date in dates and (e.kind != "export_controls" or scenario.params.policy.export_controls):
            hits = logged.filter((pl.col("kind") == f"policy:{e.kind}") & (pl.col("date") == e.date))
            assert hits.height >= 1, f"{name}: {e.kind} of {e.date} not in events"


def test_agentic_jevons_multiplies_token_demand_and_revenue() -> None:
    """Coding tokens x10 from 2025-03, enterprise x2 from 2025-09, x5 more from 2026-09: demand
    at the reference price x2-3 the baseline's (coding and enterprise are the heavy segments);
    part is priced out by the shortage it causes, but spending on tokens rises. Medians over
    six seeds: how much is priced out is the seed's luck (seed 1: demand x1.27 with its
    revenue x6.2; the other five x2.5-5.5), so one seed's demand does not decide it."""
    ratios: dict[str, list[float]] = {"token_demand_mtok": [], "ai_revenue_usd": []}
    for seed in range(6):
        base, agents = _run("baseline", seed), _run("agentic_jevons", seed)
        for column, r in ratios.items():
            r.append(_mean(agents, column, "2025-10", "2026-12") / _mean(base, column, "2025-10", "2026-12"))
        assert ratios["ai_revenue_usd"][-1] > 1.0, (seed, ratios)  # spending rises in every seed
    for column, r in ratios.items():
        assert float(np.median(r)) > 1.5, (column, r)


def test_rate_shock_dries_up_lp_inflows() -> None:
    """Rates up 4.25 pp in 2025: LP money into AI funds falls below the baseline's."""
    for seed in SEEDS:
        base = _mean(_run("baseline", seed), "lp_inflow_usd", "2025-07", "2026-06")
        shock = _mean(_run("rate_shock", seed), "lp_inflow_usd", "2025-07", "2026-06")
        assert shock < base, (seed, shock, base)


def test_capex_supercycle_spends_more_than_baseline() -> None:
    for seed in SEEDS:
        base = float(_run("baseline", seed).model["capex_usd"].sum())
        boom = float(_run("capex_supercycle", seed).model["capex_usd"].sum())
        assert boom > base, (seed, boom, base)


def test_deepseek_moment_cuts_the_price_of_tokens() -> None:
    """Against the same scenario without the 2025-01 arrival, API prices end lower."""
    shock = load_scenario("deepseek_moment")
    events = tuple(
        e for e in shock.params.events
        if not (isinstance(e, ArchitectureEvent) and e.model_id == "deepseek-v3")
    )
    assert len(events) == len(shock.params.events) - 1
    without = Scenario(
        name="deepseek_moment-without-deepseek",
        path=None,
        params=shock.params.model_copy(update={"events": events}),
        description="counterfactual",
    )
    ratios = []
    for seed in SEEDS:
        with_ds = _mean(_run("deepseek_moment", seed), "api_price_index_usd_per_mtok", "2025-07", "2026-06")
        no_ds = _mean(_run_params(without, seed), "api_price_index_usd_per_mtok", "2025-07", "2026-06")
        ratios.append(with_ds / no_ds)
    assert np.median(ratios) < 1.0, ratios


def test_china_compute_famine_splits_cn_high_end_from_low_end_prices() -> None:
    """Under the famine CN frontier-class tokens get dearer against CN small-model tokens
    than in the same world without controls (domestic chips still serve small models).

    Median over the four seeds of the test above, geometric mean from 2025-07 to 2027-12.
    """
    def spread(result: RunResult) -> float:
        m = result.model.filter(pl.col("date") >= "2025-07")
        return float(np.mean(np.log(m["api_price_high_cn_usd_per_mtok"].to_numpy()
                                    / m["api_price_low_cn_usd_per_mtok"].to_numpy())))

    pairs = [(spread(_run("china_compute_famine", seed, months=60)),
              spread(_run("china_compute_famine", seed, (("policy.export_controls", False),), months=60)))
             for seed in range(4)]
    famine, open_ = np.median(np.array(pairs), axis=0)
    assert famine > open_, pairs


def _cn_over_us_api(result: RunResult) -> float:
    m = result.model.filter(pl.col("date") >= "2025-01")
    return float(np.exp(np.mean(np.log(m["api_price_index_cn_usd_per_mtok"].to_numpy()
                                       / m["api_price_index_us_usd_per_mtok"].to_numpy()))))


def test_china_compute_famine_splits_cn_prices_from_the_rest() -> None:
    """With export controls CN tokens get dearer against the US than without.

    Seeds differ a lot (a few CN providers and owners), so the gaps are compared in the
    median over four seeds, from 2025-01 to 2027-12. (CN GPU-hours are not compared: per
    H100e they are not dearer under the famine in this window; README, scenario library.)
    """
    pairs = [(_cn_over_us_api(_run("china_compute_famine", seed, months=60)),
              _cn_over_us_api(_run("china_compute_famine", seed, (("policy.export_controls", False),), months=60)))
             for seed in range(4)]
    famine_gap, open_gap = np.median(np.array(pairs), axis=0)
    assert famine_gap > open_gap, pairs


@cache
def _stylized_facts_module():
    """benchmarks/ is not a package: load the script as a module (registered first, as
    dataclasses look their module up in sys.modules)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "stylized_facts.py"
    spec = importlib.util.spec_from_file_location("stylized_facts_bench", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_stylized_facts_configurations_load() -> None:
    """Every configuration of the validation table names a library scenario and valid
    parameters (so a renamed ablation switch fails here, not after an hour of runs)."""
    sf = _stylized_facts_module()
    for name in sf.CONFIGS:
        scenario = sf._scenario(name)
        assert scenario.params is not None
    without = sf._scenario("without_deepseek")
    assert not any(getattr(e, "model_id", None) == "deepseek-v3" for e in without.params.events)


@pytest.mark.parametrize(
    ("text", "value"),
    [(">8.00", 8.0), ("-85%", -85.0), ("ratio >17x", 17.0), ("~690", 690.0), ("1,000 bn", 1000.0), ("+200000 CNY", 200000.0)],
)
def test_stylized_facts_reads_numbers_from_fact_fields(text: str, value: float) -> None:
    assert _stylized_facts_module().number(text) == value


def test_stylized_facts_reads_f26_top_five_total() -> None:
    """F26's target (the top five's 2025 money) is read from its note, never pasted."""
    sf = _stylized_facts_module()
    note = ("Top 5 (OpenAI, Scale, Anthropic, Prometheus, xAI) raised $84bn = 20% of all VC; "
            "largest round $40bn OpenAI")  # F26's notes in ../shared/data/stylized_facts.csv, verbatim
    assert sf.raised_in_notes(note) == 84.0
    with pytest.raises(ValueError):
        sf.raised_in_notes("no total here")


def test_top_raisers_sum_the_largest_raisers_of_the_year() -> None:
    """Rounds and entrants' first rounds count; other years, other kinds and the opening
    capital (step 0) do not; each firm's rounds are summed before ranking."""
    sf = _stylized_facts_module()
    events = pl.DataFrame({
        # step 0 is the opening capital, dated 2025-01 here as in a run that starts then
        "step": [0, 30, 31, 32, 33, 34, 35, 40, 20],
        "date": ["2025-01", "2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12", "2026-05", "2024-09"],
        "kind": ["entry", "funding_round", "funding_round", "entry", "funding_round", "round_failed",
                 "funding_round", "funding_round", "funding_round"],
        "agent_id": [1, 2, 2, 3, 4, 5, 6, 2, 7],
        "amount_usd": [9e9, 1e9, 2e9, 4e9, 0.5e9, 8e9, 0.25e9, 7e9, 6e9],
    })
    assert sf.top_raisers_bn(events, "2025", 2) == pytest.approx(7.0)  # firm 3 (4) + firm 2 (1 + 2)
    assert sf.top_raisers_bn(events, "2025", 5) == pytest.approx(7.75)


def test_failed_to_raise_share_counts_seekers_of_the_region_and_year() -> None:
    """S06's measure: CN startups whose needed round failed and that closed none in the year,
    over those that sought money (a needed failure or any closed round); optional failures,
    other regions, other years and other kinds do not count."""
    sf = _stylized_facts_module()
    agents = pl.DataFrame({"agent_id": [1, 2, 3, 4, 5, 6, 7], "kind": ["startup"] * 6 + ["hyperscaler"],
                           "region": ["cn", "cn", "cn", "cn", "us", "cn", "cn"]})
    events = pl.DataFrame({
        "step": [13, 14, 15, 16, 17, 18, 19, 3],
        "date": ["2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2023-04"],
        "kind": ["round_failed", "round_failed", "funding_round", "round_failed", "round_failed",
                 "round_failed", "round_failed", "round_failed"],
        "agent_id": [1, 2, 2, 3, 5, 6, 7, 4],
        "detail": ["offers=0", "offers=1", "up pre=1", "offers=2 optional", "offers=0", "offers=0", "offers=0", "offers=0"],
    })
    # seekers: 1 (failed), 2 (failed, then raised), 6 (failed); 3's failure was optional,
    # 4's was in 2023, 5 is US, 7 is not a startup
    assert sf.failed_to_raise_share(events, agents, "cn", "2024") == pytest.approx(2 / 3)
    assert math.isnan(sf.failed_to_raise_share(events, agents, "cn", "2022"))


def test_top_lab_revenue_cloud_acquisitions_and_neocloud_loans() -> None:
    """F20, F31 and F41's measures: the top startup's token revenue in the year (summed
    month by month), startups bought by clouds in a window (not by other startups), and
    loans taken by neoclouds in a window (not by clouds)."""
    sf = _stylized_facts_module()
    m = pl.DataFrame({"step": [0, 1, 2], "date": ["2023-12", "2024-01", "2024-02"]})
    agents = pl.DataFrame({
        "step": [0, 1, 2, 1, 2, 1, 1, 1],
        "agent_id": [1, 1, 1, 2, 2, 3, 4, 5],
        "kind": ["startup", "startup", "startup", "startup", "startup", "hyperscaler", "neocloud", "startup"],
        "revenue_usd": [9e9, 1e9, 2e9, 2.5e9, 0.25e9, 7e9, 5e9, 0.0],
    })
    # firm 1: 1 + 2 in 2024 (its 2023 month does not count); firm 2: 2.75; the cloud is not a startup
    assert sf.top_startup_revenue_bn(m, agents, "2024") == pytest.approx(3.0)
    events = pl.DataFrame({
        "date": ["2024-02", "2024-03", "2025-07", "2025-08", "2024-05", "2023-06", "2025-12", "2026-01", "2024-01"],
        "kind": ["acquisition", "acquisition", "acquisition", "acquisition", "acquisition", "loan", "loan", "loan", "loan"],
        "agent_id": [2, 2, 5, 2, 5, 4, 4, 4, 3],
        "counterparty_id": [3, 3, 3, 3, 1, None, None, None, None],
        "amount_usd": [1e8, 1e8, 1e8, 1e8, 1e8, 2e9, 3e9, 4e9, 8e9],
    })
    # in the window and bought by the cloud (3): 2024-03 and 2025-07; firm 1 is a startup buyer
    assert sf.cloud_acquisitions(events, agents, "2024-03", "2025-07") == 2.0
    # the neocloud's loans of 2023-06 and 2025-12; 2026 and the cloud's loan do not count
    assert sf.loans_bn(events, agents, "neocloud", "2023-01", "2025-12") == pytest.approx(5.0)


def test_fell_from_peak_marks_a_run_in_which_a_firm_failed() -> None:
    """The rate-shock row counts seeds in which a neocloud failed."""
    sf = _stylized_facts_module()
    assert sf.fell_from_peak(pl.Series([3, 3, 3])) == 0.0
    assert sf.fell_from_peak(pl.Series([3, 3, 2])) == 1.0
    assert sf.fell_from_peak(pl.Series([3, 4, 3])) == 1.0  # an entrant came, then one failed


def test_resampled_pass_share_flags_knife_edges_and_keeps_seeds_paired() -> None:
    """A verdict far from its threshold passes in every resample, one at the threshold in
    about half; a seed's runs are resampled together (a paired gap never flips); one result."""
    sf = _stylized_facts_module()

    def res_of(**cols: list[float]) -> dict:
        return {name: [(i, {"x": x}, None) for i, x in enumerate(v)] for name, v in cols.items()}

    def rows_of(res: dict) -> list:
        a = [s["x"] for _, s, _ in res["a"]]
        b = [s["x"] for _, s, _ in res["b"]]
        return [sf.Row("far", "", "", sf.median(a) > -100), sf.Row("edge", "", "", sf.median(a) > 0),
                sf.Row("paired", "", "", sf.median(a) > sf.median(b))]

    rng = np.random.default_rng(1)
    a = rng.standard_normal(64)
    a -= np.median(a)  # the median sits on the edge row's threshold
    b = a - 0.01  # each seed's b is just below its a; medians of unpaired draws would cross
    share = sf.resampled_pass_share(res_of(a=list(a), b=list(b)), rows_of, n=200)
    assert share[0] == 1.0
    assert 0.2 < share[1] < 0.8
    assert share[2] == 1.0
    assert share == sf.resampled_pass_share(res_of(a=list(a), b=list(b)), rows_of, n=200)


def test_stylized_facts_markdown_table_is_written_whole(tmp_path) -> None:
    """--markdown writes the README's table: one row a fact, failures in bold, the resample share."""
    sf = _stylized_facts_module()
    rows = [sf.Row("F14 capex", "~725", "363 [265, 457]", True), sf.Row("F24 funding", "~132", "15.5", False)]
    out = tmp_path / "docs" / "table.md"
    sf.write_atomically(out, sf.markdown_table(rows, [0.61, 0.0]))
    lines = out.read_text().splitlines()
    assert lines[2] == "| F14 capex | ~725 | 363 [265, 457] | PASS | 61% |"
    assert lines[3] == "| F24 funding | ~132 | 15.5 | **FAIL** | 0% |"
    assert [p.name for p in out.parent.iterdir()] == ["table.md"]  # no temp file left behind
    assert out.stat().st_mode & 0o777 == 0o644  # an ordinary file, not mkstemp's private one


@pytest.mark.parametrize("args", [["--configs", "nope"], ["--configs", "rate_shock"], ["--markdown", "."],
                                  ["--set", "investors.nope=1"]])
def test_stylized_facts_bad_flags_exit_2_before_any_run(args: list[str]) -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "stylized_facts.py"
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "error:" in done.stderr and "Traceback" not in done.stderr
    assert "runs (" not in done.stdout


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
def test_stylized_facts_figures_are_written_whole(tmp_path, monkeypatch) -> None:
    """The three README figures come out as PNGs in the figures folder, nothing else left
    there; a calm seed is found when one seed bursts and the other does not. (Two-year runs
    leave the table's later windows empty, hence the warnings filtered.)"""
    sf = _stylized_facts_module()
    monkeypatch.setattr(sf, "FIGURES", tmp_path)
    runs = [sf.one_run(("baseline", seed, 24, ())) for seed in (0, 1)]
    runs[0][2]["burst"], runs[1][2]["burst"] = True, False  # the figure picks one of each
    paths = sf.figures({"baseline": [(seed, summ, frame) for _, seed, summ, frame, _ in runs]})
    names = ["emergence_burst_vs_calm.png", "emergence_price_volume.png", "emergence_hhi_firms.png"]
    assert [p.name for p in paths] == names
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 20_000


def test_f31_window_matches_the_facts_file() -> None:
    """The F31 measure's window is a constant; the facts file is the authority on it."""
    sf = _stylized_facts_module()
    facts = {"F31": {"start_period": "2024-03", "end_period": "2025-07"}}  # F31's row in ../shared/data/stylized_facts.csv
    sf.check_f31_window(facts)  # as shipped, they agree
    moved = {"F31": {**facts["F31"], "end_period": "2025-12"}}
    with pytest.raises(ValueError, match="F31_WINDOW"):
        sf.check_f31_window(moved)
