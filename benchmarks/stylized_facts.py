"""Stylized facts of the AI compute market 2023-2026 against the simulation, over many seeds.

Runs every library scenario and three mechanism ablations over N seeds on a process pool,
then prints one table: the fact, its target (read by id from ../shared/data/stylized_facts.csv;
never pasted here), the simulated median with its 10-90% band across seeds, and pass/fail.
Then the chain of events of one burst seed, read from its events frame, and the emergence
figures in docs/figures/.

    .venv/bin/python benchmarks/stylized_facts.py            # 64 seeds, 2 workers
    .venv/bin/python benchmarks/stylized_facts.py --seeds 8 --no-figures
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
FACTS_CSV = Path(os.environ.get("AIBUBBLE_SHARED_DATA", REPO.parent / "shared" / "data")) / "stylized_facts.csv"
FIGURES = REPO / "docs" / "figures"
# F31's months, measured in each run (which does not read the facts file); the table checks
# them against the file's start and end periods.
F31_WINDOW = ("2024-03", "2025-07")
LEVEL_TOLERANCE = 2.0  # a level fact passes within this factor (the model's firms are stylised)
RESAMPLES = 400  # bootstrap resamples of the seeds behind each verdict's robustness

# name -> (library scenario, overrides). The ablations remove one behaviour each;
# "without_deepseek" is deepseek_moment without its 2025-01 architecture event (see one_run).
CONFIGS: dict[str, tuple[str, dict[str, object]]] = {
    "baseline": ("baseline", {}),
    "deepseek_moment": ("deepseek_moment", {}),
    "china_compute_famine": ("china_compute_famine", {}),
    "capex_supercycle": ("capex_supercycle", {}),
    "rate_shock": ("rate_shock", {}),
    "agentic_jevons": ("agentic_jevons", {}),
    "no_trend_followers": ("baseline", {"investors.trend_following": False}),
    "no_construction_lags": ("baseline", {"hyperscalers.construction_lag_months": 0}),
    "no_export_controls": ("china_compute_famine", {"policy.export_controls": False}),
    "without_deepseek": ("deepseek_moment", {}),
}
WITHOUT_MODEL = {"without_deepseek": "deepseek-v3"}
# CN/US price gaps are measured from a year after china_compute_famine's full ban (2024-07):
# chips already delivered keep serving for a while, and without controls the CN fleet, which
# starts small, needs about as long to catch up with CN demand.
GAP_FROM = "2025-07"


# --- targets from the shared facts ----------------------------------------------------------
def load_facts(path: Path = FACTS_CSV) -> dict[str, dict[str, str]]:
    """Rows of stylized_facts.csv by id (all fields as text)."""
    if not path.is_file():
        print(f"error: {path}: stylized facts not found (set AIBUBBLE_SHARED_DATA to its folder)", file=sys.stderr)
        sys.exit(2)
    df = pl.read_csv(path, infer_schema_length=0)
    return {r["id"]: r for r in df.iter_rows(named=True)}


def number(text: str | None) -> float:
    """First number in a fact's field: '>8.00' -> 8.0, '-85%' -> -85.0, 'ratio >17x' -> 17.0."""
    m = re.search(r"[-+]?\d+(?:\.\d+)?", (text or "").replace(",", ""))
    if m is None:
        raise ValueError(f"no number in {text!r}")
    return float(m.group())


def raised_in_notes(notes: str) -> float:
    """The '$84bn' of a note saying 'raised $84bn' (F26 gives the top five's 2025 total there)."""
    m = re.search(r"raised \$(\d+(?:\.\d+)?)bn", notes)
    if m is None:
        raise ValueError(f"no 'raised $Nbn' in {notes!r}")
    return float(m.group(1))


# --- runs -----------------------------------------------------------------------------------
def _scenario(name: str, extra: tuple[str, ...] = ()):
    """The configuration's Scenario: library file, `--set` overrides then the configuration's
    own (which win), and an event dropped if asked."""
    from scenarios.config import Scenario, load_scenario
    from world.params import ArchitectureEvent

    source, overrides = CONFIGS[name]
    sc = load_scenario(load_scenario(source, list(extra)), overrides)
    drop = WITHOUT_MODEL.get(name)
    if drop is None:
        return sc
    events = tuple(e for e in sc.params.events if not (isinstance(e, ArchitectureEvent) and e.model_id == drop))
    return Scenario(name=name, path=None, params=sc.params.model_copy(update={"events": events}),
                    description=f"{sc.description} (without the {drop} event)")


def one_run(job: tuple[str, int, int | None, tuple[str, ...]]) -> tuple[str, int, dict, pl.DataFrame, pl.DataFrame | None]:
    """Run one (config, seed): its summary with extra measures, model frame, and (for the
    baseline, whose bursts the chain of events reads) its events frame."""
    from scenarios.run import run

    name, seed, months, extra = job
    r = run(_scenario(name, extra), seed=seed, months=months)
    s = dict(r.summary)
    s.update(extra_measures(r.model, r.agents, r.events))
    return name, seed, s, r.model, r.events if name == "baseline" else None


def extra_measures(m: pl.DataFrame, agents: pl.DataFrame, events: pl.DataFrame) -> dict[str, float]:
    """Measures the table needs beyond run_summary."""
    after = m.filter(pl.col("date") >= GAP_FROM)
    cn_us = (after["api_price_index_cn_usd_per_mtok"] / after["api_price_index_us_usd_per_mtok"]).to_numpy()

    def mean(column: str, start: str, end: str) -> float:
        sel = m.filter((pl.col("date") >= start) & (pl.col("date") <= end))[column]
        return float(sel.mean()) if sel.len() else float("nan")

    from world.metrics import capex_to_revenue

    gap = capex_to_revenue(m["capex_usd"].to_numpy(), m["ai_revenue_usd"].to_numpy())
    dec_2026 = m["date"].to_list().index("2026-12") if "2026-12" in m["date"].to_list() else None
    def year_bn(column: str, year: int) -> float:
        sel = m.filter(pl.col("date").str.starts_with(str(year)))[column]
        return float(sel.sum()) / 1e9 if sel.len() == 12 else float("nan")

    # S07 sets capex against pure-AI companies' revenue: the startups' token revenue
    steps_2026 = m.filter(pl.col("date").str.starts_with("2026"))["step"]
    startup_rev_2026 = float(agents.filter((pl.col("kind") == "startup") & pl.col("step").is_in(steps_2026.implode()))
                             ["revenue_usd"].sum()) / 1e9 if steps_2026.len() == 12 else float("nan")
    # F12-F14 and S07 count company-wide capex: the AI capex plus the core business's own
    capex_2026 = year_bn("capex_usd", 2026) + year_bn("non_ai_capex_usd", 2026)
    def quarter_fall(column: str, start: str, end: str) -> float:
        """1 - (average over the quarter from `end`) / (average over the quarter from `start`)."""
        a, b = mean(column, start, _plus_months(start, 2)), mean(column, end, _plus_months(end, 2))
        return 1.0 - b / a if a > 0 else float("nan")

    return {
        # S01 is quarter to quarter (2024-Q1 -> 2025-Q1); the two years from 2023-Q1
        "api_price_fall_s01": quarter_fall("api_price_index_usd_per_mtok", "2024-01", "2025-01"),
        "api_price_fall_2y_q": quarter_fall("api_price_index_usd_per_mtok", "2023-01", "2025-01"),
        "capex_2026_bn": capex_2026,
        "ai_revenue_2026_bn": year_bn("ai_revenue_usd", 2026),
        "startup_revenue_2026_bn": startup_rev_2026,
        "capex_to_startup_revenue_2026": capex_2026 / startup_rev_2026 if startup_rev_2026 > 0 else float("nan"),
        "funding_2024_bn": year_bn("funding_usd", 2024),
        "top5_funding_2025_bn": top_raisers_bn(events, "2025", 5),
        "cn_failed_to_raise_2024": failed_to_raise_share(events, agents, "cn", "2024"),
        "top_lab_revenue_2024_bn": top_startup_revenue_bn(m, agents, "2024"),
        "cloud_acquisitions_f31": cloud_acquisitions(events, agents, *F31_WINDOW),
        "neocloud_loans_2023_2025_bn": loans_bn(events, agents, "neocloud", "2023-01", "2025-12"),
        # S07 is dated 2026: the trailing-12-month ratio at 2026-12
        "capex_to_revenue_2026": float(gap[dec_2026]) if dec_2026 is not None else float("nan"),
        # overbuild: capex per dollar of AI revenue over the whole run
        "capex_per_revenue_total": float(m["capex_usd"].sum() / max(m["ai_revenue_usd"].sum(), 1.0)),
        "api_price_2025h2_2026h1": mean("api_price_index_usd_per_mtok", "2025-07", "2026-06"),
        "token_volume_2027": mean("token_volume_mtok", "2027-01", "2027-12"),
        "lp_inflow_2025h2_2027": mean("lp_inflow_usd", "2025-07", "2027-12") / 1e9,
        "neoclouds_alive_final": float(m["n_neoclouds_alive"][-1]),
        "neocloud_failed": fell_from_peak(m["n_neoclouds_alive"]),
        # mean |log(CN/US)| API price gap: 0 when the regions move together
        "cn_price_divergence": float(np.mean(np.abs(np.log(cn_us)))) if cn_us.size else float("nan"),
        "cn_over_us_price": float(np.exp(np.mean(np.log(cn_us)))) if cn_us.size else float("nan"),
        # CN frontier-class (large tier) and small/mid-tier prices, geometric means from GAP_FROM
        "cn_high_price": float(np.exp(np.mean(np.log(after["api_price_high_cn_usd_per_mtok"].to_numpy())))),
        "cn_low_price": float(np.exp(np.mean(np.log(after["api_price_low_cn_usd_per_mtok"].to_numpy())))),
        # chips bought but waiting for power and buildings, at the worst month
        "unpowered_peak_share": float(
            (m["unpowered_h100e"] / (m["compute_capacity_h100e"] + m["unpowered_h100e"])).max()
        ),
    }


def fell_from_peak(alive: pl.Series) -> float:
    """1.0 when fewer firms are alive at the end than at their most: one failed at least
    (for neoclouds, which never enter after month 0, exactly that)."""
    return float(alive[-1] < alive.max())


def top_raisers_bn(events: pl.DataFrame, year: str, k: int) -> float:
    """Venture money raised in `year` by the k startups that raised most (rounds and
    entrants' first rounds), $bn: F26's measure (the top five's share of 2025 funding)."""
    raised = (events.filter(pl.col("kind").is_in(["funding_round", "entry"]) & pl.col("date").str.starts_with(year)
                            & (pl.col("step") > 0))
              .group_by("agent_id").agg(pl.col("amount_usd").sum()))
    return float(raised["amount_usd"].top_k(k).sum()) / 1e9


def failed_to_raise_share(events: pl.DataFrame, agents: pl.DataFrame, region: str, year: str) -> float:
    """Of the region's startups that sought money in `year` (a round they needed that failed,
    or any round that closed), the share that raised nothing that year: S06's measure
    (Chinese AI startups failing to raise a Series B in 2024; the model has no stages, so
    every round a lab must raise counts). nan when none sought money."""
    ids = agents.filter((pl.col("kind") == "startup") & (pl.col("region") == region))["agent_id"].unique().implode()
    ev = events.filter(pl.col("date").str.starts_with(year) & pl.col("agent_id").is_in(ids) & (pl.col("step") > 0))
    failed = set(ev.filter((pl.col("kind") == "round_failed") & ~pl.col("detail").str.contains("optional"))["agent_id"])
    raised = set(ev.filter(pl.col("kind").is_in(["funding_round", "entry"]))["agent_id"])
    sought = failed | raised
    return len(failed - raised) / len(sought) if sought else float("nan")


def top_startup_revenue_bn(m: pl.DataFrame, agents: pl.DataFrame, year: str) -> float:
    """Token revenue in `year` of the startup that sold most, $bn: F20's measure (OpenAI's
    2024 revenue)."""
    steps = m.filter(pl.col("date").str.starts_with(year))["step"].implode()
    rev = (agents.filter((pl.col("kind") == "startup") & pl.col("step").is_in(steps))
           .group_by("agent_id").agg(pl.col("revenue_usd").sum()))
    return float(rev["revenue_usd"].max()) / 1e9 if rev.height else 0.0


def cloud_acquisitions(events: pl.DataFrame, agents: pl.DataFrame, start: str, end: str) -> float:
    """Startups bought by a cloud from `start` to `end` (months, inclusive): F31's measure
    (five reverse acqui-hires of model and product companies, 2024-03 to 2025-07)."""
    clouds = agents.filter(pl.col("kind") == "hyperscaler")["agent_id"].unique().implode()
    return float(events.filter((pl.col("kind") == "acquisition") & (pl.col("date") >= start)
                               & (pl.col("date") <= end) & pl.col("counterparty_id").is_in(clouds)).height)


def loans_bn(events: pl.DataFrame, agents: pl.DataFrame, kind: str, start: str, end: str) -> float:
    """GPU-backed loans taken by owners of `kind` from `start` to `end`, $bn: F41's measure
    (neocloud GPU-collateralised debt raised 2023-2025)."""
    ids = agents.filter(pl.col("kind") == kind)["agent_id"].unique().implode()
    sel = events.filter((pl.col("kind") == "loan") & (pl.col("date") >= start) & (pl.col("date") <= end)
                        & pl.col("agent_id").is_in(ids))
    return float(sel["amount_usd"].sum()) / 1e9


def _plus_months(ym: str, k: int) -> str:
    y, mo = int(ym[:4]), int(ym[5:]) - 1 + k
    return f"{y + mo // 12}-{mo % 12 + 1:02d}"


def run_all(names: list[str], seeds: int, workers: int, months: int | None,
            extra: tuple[str, ...] = ()) -> tuple[dict[str, list[tuple[int, dict, pl.DataFrame]]], dict[int, pl.DataFrame]]:
    jobs = [(n, s, months, extra) for n in names for s in range(seeds)]
    out: dict[str, list] = {n: [] for n in names}
    events: dict[int, pl.DataFrame] = {}
    from tqdm import tqdm

    t0 = time.perf_counter()
    # spawn: polars is not fork-safe; each worker imports the model once
    with mp.get_context("spawn").Pool(workers) as pool:
        for name, seed, summ, frame, ev in tqdm(pool.imap_unordered(one_run, jobs), total=len(jobs),
                                                desc="runs", unit="run", file=sys.stderr):
            out[name].append((seed, summ, frame))
            if ev is not None:
                events[seed] = ev
    for n in names:
        out[n].sort(key=lambda x: x[0])
    print(f"{len(jobs)} runs ({len(names)} configurations x {seeds} seeds) in "
          f"{time.perf_counter() - t0:.0f} s on {workers} workers\n")
    return out, events


# --- the table ------------------------------------------------------------------------------
@dataclass
class Row:
    fact: str
    target: str
    simulated: str
    ok: bool


def band(values: list[float], fmt: str = "{:.3g}") -> str:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        return "n/a"
    lo, med, hi = np.percentile(v, [10, 50, 90])
    return f"{fmt.format(med)} [{fmt.format(lo)}, {fmt.format(hi)}]"


def median(values: list[float]) -> float:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.median(v)) if v else float("nan")


def pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def check_f31_window(facts: dict[str, dict[str, str]]) -> None:
    """F31's window is a constant (the measure needs it before the facts are read): fail
    loudly if the facts file moves it, instead of measuring the wrong months."""
    if (facts["F31"]["start_period"], facts["F31"]["end_period"]) != F31_WINDOW:
        raise ValueError(f"F31's period in the facts file is not F31_WINDOW {F31_WINDOW}: update the constant")


def build_rows(res: dict, facts: dict[str, dict[str, str]]) -> list[Row]:
    def col(name: str, key: str) -> list[float]:
        return [s[key] for _, s, _ in res[name]]

    def share(name: str, key: str) -> float:
        return float(np.mean([bool(s[key]) for _, s, _ in res[name]]))

    rows: list[Row] = []
    f = facts

    def have(*names: str) -> bool:
        return all(n in res for n in names)

    # API price at constant capability (GPT-4 class): S01 is -85% from 2024-Q1 to 2025-Q1,
    # quarter averages; the issue asks for >= 80% within two years: we hold the first two
    # years (2023-Q1 -> 2025-Q1) to S01's one-year depth.
    need = abs(number(f["S01"]["change"])) / 100
    v = col("baseline", "api_price_fall_s01")
    rows.append(Row("S01 API price index (constant capability), 2024-Q1 -> 2025-Q1",
                    f">= {pct(need)} (S01: {f['S01']['change']})", band(v, "{:.1%}"), median(v) >= need))
    v = col("baseline", "api_price_fall_2y_q")
    rows.append(Row("S01/S08 API price index, 2023-Q1 -> 2025-Q1",
                    f">= {pct(need)} (S08: {f['S08']['change']} in 2 years)", band(v, "{:.0%}"), median(v) >= need))

    # Jevons: token volume grows faster than price falls, i.e. spending rises (S09 with S08).
    s09 = number(f["S09"]["end_value"]) / number(f["S09"]["start_value"])
    v = col("baseline", "token_spend_growth_2y")
    vol = col("baseline", "token_volume_growth_2y")
    rows.append(Row("S09 Jevons: token spending (volume x price) over the first 2 years",
                    f"> 1x, rising (S09: corporate AI cloud spend x{s09:.0f} in 2024-25)",
                    f"x{band(v)}; volume x{median(vol):.3g}", median(v) > 1.0))

    # Capex runs far ahead of AI revenue (S07: ~690bn capex vs <40bn pure-AI revenue).
    s07 = number(f["S07"]["start_value"]) / number(f["S07"]["end_value"])
    v = col("baseline", "capex_to_startup_revenue_2026")
    rows.append(Row("S07 company-wide capex / AI startups' revenue in 2026",
                    f">= {s07:.1f}x (S07: {f['S07']['change']}, 2026)", band(v, "{:.1f}x"), median(v) >= s07))

    def level(fact: str, target: float, source: str, key: str, fmt: str) -> Row:
        """A level passes within LEVEL_TOLERANCE of its target, either way: the model's
        firms are not the reported ones one for one."""
        v = col("baseline", key)
        return Row(fact, f"~{source}, within x{LEVEL_TOLERANCE:g}", band(v, fmt),
                   target / LEVEL_TOLERANCE <= median(v) <= target * LEVEL_TOLERANCE)

    # ...and its two sides: capex (F14: big-4 2026 guidance) and AI revenue (S07: < $40bn).
    f14 = number(f["F14"]["end_value"])
    rows.append(level("F14 company-wide capex in 2026, $bn", f14, f"{f14:.0f} (F14: big-4 guidance)",
                      "capex_2026_bn", "{:.0f}"))
    s07_rev = number(f["S07"]["end_value"])
    v = col("baseline", "startup_revenue_2026_bn")
    rows.append(Row("S07 AI startups' revenue in 2026, $bn", f"< {s07_rev:.0f} (S07: pure-AI companies)",
                    band(v, "{:.0f}"), median(v) < s07_rev))
    f24 = number(f["F24"]["end_value"])
    rows.append(level("F24 venture funding of AI startups in 2024, $bn", f24, f"{f24:.0f} (F24: global AI VC)",
                      "funding_2024_bn", "{:.3g}"))
    # F26: the top five raised $84bn in 2025 (OpenAI, Scale, Anthropic, Prometheus, xAI),
    # the same scope as the model's labs, which F24's all-AI total is not.
    top5 = raised_in_notes(f["F26"]["notes"])
    rows.append(level("F26 venture money raised by the top 5 startups in 2025, $bn", top5,
                      f"{top5:.0f} (F26: top 5 of all VC)", "top5_funding_2025_bn", "{:.3g}"))
    # F20: the leading lab's revenue (OpenAI, 2024); F31: reverse acqui-hires by the clouds;
    # F41: neocloud GPU-backed debt.
    f20, f31, f41 = (number(f[k]["end_value"]) for k in ("F20", "F31", "F41"))
    rows.append(level("F20 revenue of the startup that sells most, 2024, $bn", f20, f"{f20:g} (F20: OpenAI)",
                      "top_lab_revenue_2024_bn", "{:.3g}"))
    check_f31_window(f)
    rows.append(level(f"F31 startups bought by clouds, {F31_WINDOW[0]} to {F31_WINDOW[1]}",
                      f31, f"{f31:g} (F31: reverse acqui-hires)", "cloud_acquisitions_f31", "{:.3g}"))
    rows.append(level("F41 GPU-backed debt raised by neoclouds, 2023-2025, $bn", f41, f"{f41:g} (F41: CoreWeave alone)",
                      "neocloud_loans_2023_2025_bn", "{:.3g}"))
    # S06: over 40% of Chinese AI startups failed to raise a Series B in 2024 (funding winter).
    s06 = number(f["S06"]["start_value"]) / 100
    v = col("baseline", "cn_failed_to_raise_2024")
    rows.append(Row("S06 CN startups that sought money in 2024 and raised none",
                    f"> {pct(s06)} (S06: Series B)", band(v, "{:.0%}"), median(v) > s06))
    v = col("baseline", "capex_to_revenue_peak")
    rows.append(Row("S07 AI capex / AI revenue (trailing 12 months) at its peak",
                    f">= {s07:.1f}x", band(v, "{:.1f}x"), median(v) >= s07))

    # GPU-hour price spikes under shortage (F01a: > $8/h in the 2023 scarcity)...
    f01 = number(f["F01a"]["start_value"])
    v = col("baseline", "gpu_price_peak_usd")
    rows.append(Row("F01a GPU-hour (H100-class) price peak under shortage",
                    f">= ${f01:.2f}/h (F01a: {f['F01a']['start_value']})", band(v, "${:.2f}"), median(v) >= f01))
    # ...then falls as supply lands, to the capex-recovery breakeven (F03: $1.65/h).
    f03 = number(f["F03"]["start_value"])
    fall = 1 - f03 / f01
    v = col("baseline", "gpu_price_peak_to_trough")
    rows.append(Row("F03 GPU-hour price fall from its peak as supply lands",
                    f">= {pct(fall)} (F01a ${f01:.2f} -> F03 breakeven ${f03:.2f})", band(v, "{:.0%}"),
                    median(v) >= fall))

    # Consolidation: startup count falls by more than half (S02: ~120 -> ~45 in China)...
    s02 = abs(number(f["S02"]["change"])) / 100
    v = col("baseline", "startup_decline")
    rows.append(Row("S02 startup count, fall from its peak to 2030-12",
                    f"> 50% (S02: {f['S02']['change']})", band(v, "{:.0%}"), median(v) > 0.5))
    # ...while concentration rises (S05: top-2 > 60% of high-end capacity, HHI >= 1,800).
    from world.metrics import HHI_HIGHLY_CONCENTRATED_2023

    for market, target_note in (("compute", f" (S05: CR2 {f['S05']['start_value']}%)"), ("tokens", "")):
        v = col("baseline", f"final_hhi_{market}")
        rise = col("baseline", f"hhi_{market}_rise")
        rows.append(Row(f"S05 HHI of {market} at 2030-12 (and its rise since 2023-01)",
                        f">= {HHI_HIGHLY_CONCENTRATED_2023:,.0f} and rising{target_note}",
                        f"{band(v, '{:,.0f}')}; rise {median(rise):+,.0f}",
                        median(v) >= HHI_HIGHLY_CONCENTRATED_2023 and median(rise) > 0))

    # Bursts in some seeds, not all (DESIGN.md, issue 4: an outcome, not a script).
    b = share("baseline", "burst")
    n = len(res["baseline"])
    rows.append(Row("Burst share of baseline seeds (valuation -50% after a run-up)",
                    "neither 0% nor 100% (issue 4)", f"{pct(b)} of {n}", 0 < b < 1))

    # Mechanism ablations.
    bt = share("no_trend_followers", "burst") if have("no_trend_followers") else float("nan")
    rows.append(Row("Ablation: no trend-following investors -> bursts rare",
                    f"<= half the baseline's {pct(b)}", f"{pct(bt)} of {n}", bt <= b / 2 and b > 0))
    if not have("no_construction_lags", "china_compute_famine", "no_export_controls"):
        return rows
    base_cr, nolag_cr = col("baseline", "capex_per_revenue_total"), col("no_construction_lags", "capex_per_revenue_total")
    rows.append(Row("Ablation: no construction lags -> overbuild (capex per $ of AI revenue, 2023-30) shrinks",
                    f"< baseline {band(base_cr, '{:.2f}')}", band(nolag_cr, "{:.2f}"),
                    median(nolag_cr) < median(base_cr)))
    base_u, nolag_u = col("baseline", "unpowered_peak_share"), col("no_construction_lags", "unpowered_peak_share")
    rows.append(Row("Ablation: no construction lags -> chips waiting for power (peak share) shrink",
                    f"< baseline {band(base_u, '{:.0%}')}", band(nolag_u, "{:.0%}"),
                    median(nolag_u) < median(base_u)))
    ctl, free = col("china_compute_famine", "cn_over_us_price"), col("no_export_controls", "cn_over_us_price")
    dctl, dfree = col("china_compute_famine", "cn_price_divergence"), col("no_export_controls", "cn_price_divergence")
    rows.append(Row(f"Ablation: no export controls -> CN/US API price gap from {GAP_FROM} closes",
                    f"famine CN/US {band(ctl, '{:.2f}')}, abs log gap {median(dctl):.2f}",
                    f"CN/US {band(free, '{:.2f}')}, abs log gap {median(dfree):.2f}",
                    median(dfree) < median(dctl) / 2))

    # Scenario signatures (medians against the baseline's, or against a counterfactual).
    def versus(name: str, other: str, label: str, key: str, fmt: str, higher: bool) -> None:
        if not have(name, other):
            return
        bv, sv = col(other, key), col(name, key)
        ok = median(sv) > median(bv) if higher else median(sv) < median(bv)
        rows.append(Row(f"{name}: {label}", f"{'>' if higher else '<'} {other} {band(bv, fmt)}",
                        band(sv, fmt), ok))

    versus("deepseek_moment", "without_deepseek", "API price index 2025-07..2026-06, $/Mtok",
           "api_price_2025h2_2026h1", "{:.3g}", False)
    # china_compute_famine: frontier-class CN tokens dearer, small-model CN tokens cheaper,
    # than in the same world without export controls (the tiers diverge)
    versus("china_compute_famine", "no_export_controls", f"CN high-end (large-tier) API price from {GAP_FROM}, $/Mtok",
           "cn_high_price", "{:.3g}", True)
    versus("china_compute_famine", "no_export_controls", f"CN low-end (small/mid-tier) API price from {GAP_FROM}, $/Mtok",
           "cn_low_price", "{:.3g}", False)
    versus("capex_supercycle", "baseline", "capex/revenue peak", "capex_to_revenue_peak", "{:.1f}x", True)
    versus("rate_shock", "baseline", "LP inflows per month 2025-07..2027-12, $bn", "lp_inflow_2025h2_2027",
           "{:.3g}", False)
    # A neocloud's failure is a rare event (3 of 3 survive in the median seed of both), so
    # the row counts seeds with one, as the burst rows do, not the median count alive.
    if have("rate_shock"):
        fb, fs = share("baseline", "neocloud_failed"), share("rate_shock", "neocloud_failed")
        alive_b, alive_s = col("baseline", "neoclouds_alive_final"), col("rate_shock", "neoclouds_alive_final")
        rows.append(Row("rate_shock: seeds in which a neocloud fails (GPU-backed debt)",
                        f"> baseline {pct(fb)} (median alive at the end {median(alive_b):.0f})",
                        f"{pct(fs)} of {len(res['rate_shock'])} (median alive {median(alive_s):.0f})", fs > fb))
    versus("agentic_jevons", "baseline", "token volume in 2027, Mtok/month", "token_volume_2027", "{:.3g}", True)
    return rows


def resampled_pass_share(res: dict, rows_of: Callable[[dict], list[Row]], n: int = RESAMPLES) -> list[float]:
    """Per row, the share of bootstrap resamples of the seeds in which it passes.

    A median within a few percent of its threshold passes in about half of them: the verdict
    is the seeds' luck, not the model's. Seeds are drawn once per resample for every
    configuration together (a seed's runs stay paired), from a fixed generator (one result).
    """
    rng = np.random.default_rng(0)
    k = min(len(v) for v in res.values())
    passes: list[int] | None = None
    for _ in range(n):
        idx = rng.integers(0, k, size=k)
        ok = [r.ok for r in rows_of({name: [v[i] for i in idx] for name, v in res.items()})]
        passes = ok if passes is None else [a + b for a, b in zip(passes, ok)]
    return [p / n for p in passes or []]


def print_table(rows: list[Row], robust: list[float]) -> None:
    """The table; the last column is each row's pass share over resampled seeds."""
    w = [max(len(getattr(r, k)) for r in rows) for k in ("fact", "target", "simulated")]
    head = (f"{'fact':<{w[0]}}  {'target':<{w[1]}}  {'simulated median [10%, 90%]':<{w[2]}}  pass  "
            f"passes in resamples")
    print(head)
    print("-" * len(head))
    for r, share in zip(rows, robust):
        print(f"{r.fact:<{w[0]}}  {r.target:<{w[1]}}  {r.simulated:<{w[2]}}  {'PASS' if r.ok else 'FAIL'}  {pct(share)}")
    print(f"\n{sum(r.ok for r in rows)}/{len(rows)} pass; {sum(x >= 0.9 for x in robust)} pass in >= 90% of "
          f"{RESAMPLES} bootstrap resamples of the seeds, {sum(x <= 0.1 for x in robust)} fail in >= 90%")


def markdown_table(rows: list[Row], robust: list[float]) -> str:
    """The table as Markdown, as the README shows it (failures in bold)."""
    lines = ["| fact | target | simulated median [10%, 90%] | pass | passes in resamples |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r.fact} | {r.target} | {r.simulated} | {'PASS' if r.ok else '**FAIL**'} | {pct(share)} |"
              for r, share in zip(rows, robust)]
    return "\n".join(lines) + "\n"


@contextmanager
def _atomic(path: Path) -> Iterator[str]:
    """A temp file beside `path` to write, renamed onto it when the block ends well: readers
    never see half a file, and a failed write leaves no temp file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are ordinary files
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Write text to `path` whole or not at all (the --markdown table)."""
    with _atomic(path) as tmp:
        Path(tmp).write_text(text)


# --- the chain of events of one burst ---------------------------------------------------------
def burst_chain(seed: int, m: pl.DataFrame, ev: pl.DataFrame) -> None:
    """Month by month around the burst: sentiment, rounds, failures, fire sales, prices."""
    from world.metrics import detect_burst, running_drawdown

    b = detect_burst(m["valuation_index_usd"].to_numpy())
    if b is None:
        raise ValueError(f"baseline seed {seed}: no burst in its model frame")
    lo, hi = max(b.peak_month - 6, 0), min(b.trough_month + 6, m.height - 1)
    dd = running_drawdown(m["valuation_index_usd"].to_numpy())
    ev = ev.with_columns(pl.col("detail").str.split(" ").list.first().alias("round"))
    print(f"\nChain of events, baseline seed {seed}: valuation peak {m['date'][b.peak_month]}, "
          f"-50% in {m['date'][b.month]}, trough {m['date'][b.trough_month]} (-{b.depth:.0%})")
    print(f"{'month':<8} {'val $bn':>8} {'dd':>5} {'sent':>5} {'trend':>5} {'up':>3} {'down':>4} "
          f"{'fail':>4} {'bkr':>3} {'fire':>4} {'acq':>3} {'cov':>3} {'api $/M':>8} {'gpu $/h':>8}")
    for t in range(lo, hi + 1):
        e = ev.filter(pl.col("step") == t)

        def n(kind: str, rnd: str | None = None) -> int:
            sel = e.filter(pl.col("kind") == kind)
            return sel.height if rnd is None else sel.filter(pl.col("round") == rnd).height

        row = m.row(t, named=True)
        mark = " <- burst" if t == b.month else (" <- peak" if t == b.peak_month else "")
        print(f"{row['date']:<8} {row['valuation_index_usd'] / 1e9:8.0f} {dd[t]:5.0%} {row['sentiment']:5.2f} "
              f"{row['trend_share']:5.2f} {n('funding_round', 'up'):3d} {n('funding_round', 'down'):4d} "
              f"{n('round_failed'):4d} {n('bankruptcy'):3d} {n('fire_sale'):4d} {n('acquisition'):3d} "
              f"{n('covenant_breach'):3d} {row['api_price_index_usd_per_mtok']:8.2f} "
              f"{row['gpu_hour_price_usd']:8.2f}{mark}")
    # the sequence, as first occurrences after the peak
    sent = m["sentiment"].to_numpy()
    firsts = {"sentiment turns down": next((t for t in range(b.peak_month, m.height) if t > 0 and sent[t] < sent[t - 1]), None)}
    for label, kind, rnd in (("first down round", "funding_round", "down"), ("first failed round", "round_failed", None),
                             ("first bankruptcy", "bankruptcy", None), ("first fire sale", "fire_sale", None)):
        sel = ev.filter((pl.col("kind") == kind) & (pl.col("step") >= b.peak_month - 3))
        if rnd:
            sel = sel.filter(pl.col("round") == rnd)
        firsts[label] = int(sel["step"].min()) if sel.height else None
    gdd = running_drawdown(m["gpu_hour_price_usd"].to_numpy()[b.peak_month:])
    firsts["GPU-hour price -30% from the valuation peak on"] = next(
        (b.peak_month + t for t in range(gdd.size) if gdd[t] >= 0.3), None)
    print("sequence: " + "; ".join(f"{k} {m['date'][v] if v is not None else 'never'}"
                                   for k, v in sorted(firsts.items(), key=lambda kv: (kv[1] is None, kv[1] or 0))))


# --- figures ------------------------------------------------------------------------------------
def _save(fig, name: str) -> Path:
    """Write a PNG atomically (temp file, then rename)."""
    path = FIGURES / name
    with _atomic(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    return path


def _fan(ax, frames: list[pl.DataFrame], column: str, color: str, label: str,
         transform: Callable[[np.ndarray], np.ndarray] = lambda x: x) -> np.ndarray:
    y = np.vstack([transform(f[column].to_numpy()) for f in frames])
    x = np.arange(y.shape[1])
    lo, med, hi = np.percentile(y, [10, 50, 90], axis=0)
    ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)
    ax.plot(x, med, color=color, lw=2, label=label)
    return x


def _date_ticks(ax, dates: list[str]) -> None:
    ticks = [i for i, d in enumerate(dates) if d.endswith("-01")]
    ax.set_xticks(ticks, [dates[i][:4] for i in ticks])


def _finish_fan_panel(ax, dates: list[str], title: str) -> None:
    """Title, legend, year ticks and grid: what every fan-chart panel ends with."""
    ax.set_title(title)
    ax.legend(fontsize=8)
    _date_ticks(ax, dates)
    ax.grid(alpha=0.3)


def figures(res: dict) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from world.metrics import HHI_HIGHLY_CONCENTRATED_2010, HHI_HIGHLY_CONCENTRATED_2023, detect_burst

    base = res["baseline"]
    frames = [f for _, _, f in base]
    dates = frames[0]["date"].to_list()
    paths = []

    # 1. a burst run and a calm run side by side (the mildest seed if every seed burst)
    burst = next(((s, f, "a burst") for s, summ, f in base if summ["burst"]), None)
    calm_pool = [x for x in base if not x[1]["burst"]] or base
    seed, summ, f = min(calm_pool, key=lambda x: x[1]["max_drawdown"])
    calm = (seed, f, "a calm run" if not summ["burst"] else "the mildest seed (every seed burst)")
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6), sharey=True)
    for ax, pick in ((axes[0], burst), (axes[1], calm)):
        if pick is None:
            ax.set_title("baseline: no seed burst")
            continue
        seed, f, title = pick
        x = np.arange(f.height)
        ax.plot(x, f["valuation_index_usd"] / 1e9, color="tab:red", lw=2, label="valuation index")
        ax.plot(x, 12 * f["ai_revenue_usd"] / 1e9, color="tab:green", lw=2, label="AI revenue (annualised)")
        ax.plot(x, 12 * f["capex_usd"] / 1e9, color="tab:blue", lw=1.5, label="AI capex (annualised)")
        ax.set_yscale("log")
        b = detect_burst(f["valuation_index_usd"].to_numpy())
        if b is not None:
            ax.axvspan(b.peak_month, b.trough_month, color="tab:red", alpha=0.1, label="peak to trough")
            ax.axvline(b.month, color="tab:red", ls=":", lw=1)
        tw = ax.twinx()
        tw.plot(x, f["sentiment"], color="0.4", lw=1, ls="--", label="sentiment (right)")
        tw.set_ylim(0, max(2.0, float(f["sentiment"].max()) * 1.1))
        tw.set_ylabel("sentiment (multiple / fundamental)")
        ax.set_title(f"baseline seed {seed}: {title}")
        _date_ticks(ax, dates)
        ax.grid(alpha=0.3)
        if ax is axes[0]:
            ax.set_ylabel("USD bn (log)")
            h1, l1 = ax.get_legend_handles_labels()
            h2, l2 = tw.get_legend_handles_labels()
            ax.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
    fig.suptitle("Same parameters, different seeds: valuations run ahead of revenue; in some seeds they burst")
    paths.append(_save(fig, "emergence_burst_vs_calm.png"))
    plt.close(fig)

    # 2. price and volume (Jevons), and the GPU-hour price
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    ax = axes[0]
    frames_spend = [f.with_columns((pl.col("api_price_index_usd_per_mtok") * pl.col("token_volume_mtok")).alias("spend"))
                    for f in frames]
    _fan(ax, frames, "api_price_index_usd_per_mtok", "tab:red", "API price, constant capability", lambda v: v / v[0])
    _fan(ax, frames, "token_volume_mtok", "tab:blue", "token volume", lambda v: v / v[0])
    _fan(ax, frames_spend, "spend", "tab:green", "spending (price x volume)", lambda v: v / v[0])
    ax.axhline(1.0, color="0.3", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylabel("index, 2023-01 = 1 (log)")
    _finish_fan_panel(ax, dates, "Tokens: price falls, volume grows faster (Jevons)")
    ax = axes[1]
    _fan(ax, frames, "gpu_hour_price_usd", "tab:purple", "GPU-hour price (H100 class)")
    ax.set_ylabel("USD per GPU-hour")
    ax.set_yscale("log")
    _finish_fan_panel(ax, dates, "GPU-hour rental price")
    fig.suptitle(f"Baseline over {len(frames)} seeds: median and 10-90% band")
    paths.append(_save(fig, "emergence_price_volume.png"))
    plt.close(fig)

    # 3. HHI and firm count
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    ax = axes[0]
    _fan(ax, frames, "hhi_compute", "tab:blue", "HHI compute")
    _fan(ax, frames, "hhi_tokens", "tab:orange", "HHI tokens")
    ax.axhline(HHI_HIGHLY_CONCENTRATED_2023, color="0.3", ls=":", lw=1, label="1,800: highly concentrated (2023 guidelines)")
    ax.axhline(HHI_HIGHLY_CONCENTRATED_2010, color="0.3", ls="--", lw=1, label="2,500: highly concentrated (2010 guidelines)")
    ax.set_ylim(0, 10_000)
    _finish_fan_panel(ax, dates, "Concentration (Herfindahl-Hirschman index)")
    ax = axes[1]
    _fan(ax, frames, "n_startups_alive", "tab:green", "startups alive")
    _fan(ax, frames, "n_bankruptcies", "tab:red", "bankruptcies (cumulative)")
    _fan(ax, frames, "n_acquisitions", "tab:purple", "acquisitions (cumulative)")
    _finish_fan_panel(ax, dates, "Firm count and exits")
    fig.suptitle(f"Baseline over {len(frames)} seeds: consolidation (median and 10-90% band)")
    paths.append(_save(fig, "emergence_hhi_firms.png"))
    plt.close(fig)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 64, not the minimum of 32: several medians sit within a few percent of their
    # thresholds, and at 32 seeds they moved across them from one calibration run to the next
    ap.add_argument("--seeds", type=int, default=64, help="seeds per configuration (default 64)")
    ap.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--months", type=int, default=None, help="months per run (default: the scenario's)")
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help="comma-separated subset of: " + ", ".join(CONFIGS))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="parameter override for every configuration (repeatable), e.g. to test a calibration")
    ap.add_argument("--no-figures", action="store_true", help="skip docs/figures/")
    ap.add_argument("--markdown", type=Path, default=None, metavar="FILE",
                    help="also write the table as Markdown to FILE (as in the README)")
    args = ap.parse_args()
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = sorted(set(names) - set(CONFIGS))
    if unknown:
        ap.error(f"--configs {', '.join(unknown)}: unknown; choose from {', '.join(CONFIGS)}")
    if "baseline" not in names:
        ap.error(f"--configs {args.configs}: must include baseline (every row compares with it)")
    if args.markdown is not None and (args.markdown.is_dir() or args.markdown.parent.is_file()):
        ap.error(f"--markdown {args.markdown}: not a file path (a folder, or under a file)")
    extra = tuple(args.set)
    if extra:
        from hardware_models.errors import InputError

        try:
            _scenario("baseline", extra)  # a bad key or value stops here, before any run
        except InputError as exc:
            ap.error(str(exc))
        print(f"with --set {' '.join(extra)}")
    facts = load_facts()
    res, events = run_all(names, args.seeds, args.workers, args.months, extra)
    rows = build_rows(res, facts)
    robust = resampled_pass_share(res, lambda r: build_rows(r, facts))
    print_table(rows, robust)
    if args.markdown is not None:
        write_atomically(args.markdown, markdown_table(rows, robust))
        print(f"table: {args.markdown}")
    burst = next(((s, f) for s, summ, f in res.get("baseline", []) if summ["burst"]), None)
    if burst is None:
        print("\nno baseline seed burst: no chain of events to show")
    else:
        burst_chain(burst[0], burst[1], events[burst[0]])
    if not args.no_figures and "baseline" in res:
        for p in figures(res):
            print(f"figure: {p.relative_to(REPO)}")


if __name__ == "__main__":
    main()
