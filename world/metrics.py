"""Market-structure and bubble detectors: pure numpy/polars functions over monthly series.

The economy calls `hhi` and `concentration_ratio` every month to fill its model frame, and
`run_summary` once at the end of a run. Nothing here knows about agents or the model, so the
same functions score a live run, a parquet file on disk or a hand-made test series.

Flows (`capex_usd`, `ai_revenue_usd`, `token_volume_mtok`) are per month; stocks
(`valuation_index_usd`) and prices are end-of-month levels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

# Herfindahl-Hirschman thresholds on the 0..10,000 scale.
# US DOJ/FTC Merger Guidelines (2023), section 2.1: a market with HHI above 1,800 is
# "highly concentrated" (a merger raising it by more than 100 points is presumed to lessen
# competition).
HHI_HIGHLY_CONCENTRATED_2023 = 1_800.0
# US DOJ/FTC Horizontal Merger Guidelines (2010), section 5.3: above 2,500 is "highly
# concentrated" (1,500-2,500 "moderately concentrated").
HHI_HIGHLY_CONCENTRATED_2010 = 2_500.0

# A burst is a fall of at least half from the running peak (issue 4, DESIGN.md).
BURST_MIN_DRAWDOWN = 0.5
# ...from a peak that was itself reached by a run-up: the peak is at least 1.5x the lowest
# level before it. Why: a valuation index that only sags from month 0 (say, because the
# initial firms were overvalued by the scenario's starting conditions) is a slump, not the
# collapse of a boom; requiring a rise first ties the burst to the bubble that preceded it.
# assumption: 1.5x, well below the 2023-2025 rise of AI valuations (F24-F27: AI VC +52% a
# year, NVIDIA data-centre revenue x2.4 a year, F17), so any real boom qualifies.
BURST_MIN_RUNUP = 1.5
# Consolidation: the firm count falls to half its running peak or less (issue 4).
CONSOLIDATION_MIN_DECLINE = 0.5
# Capex and revenue are compared over trailing 12-month sums (annual, as S07 and F14 are).
ANNUAL_WINDOW = 12
# API price decline is also read over the first two years (S08: -99.7% "in 2 years").
TWO_YEARS = 24

# Columns of model.parquet that `run_summary` reads (contract in interfaces.md).
SUMMARY_COLUMNS = (
    "step",
    "valuation_index_usd",
    "ai_revenue_usd",
    "capex_usd",
    "hhi_compute",
    "hhi_tokens",
    "n_startups_alive",
    "api_price_index_usd_per_mtok",
    "gpu_hour_price_usd",
    "token_volume_mtok",
)


def _as_array(values: Sequence[float] | np.ndarray | pl.Series, name: str) -> np.ndarray:
    """1-d float array, rejecting NaN/inf so that a broken model column fails loudly here."""
    arr = np.asarray(values.to_numpy() if isinstance(values, pl.Series) else values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d series, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name}: non-finite value {arr[bad]!r} at index {bad}")
    return arr


def _shares(shares: Sequence[float] | np.ndarray, name: str) -> np.ndarray | None:
    """Normalised market shares, or None when the market is empty (total zero)."""
    arr = _as_array(shares, name)
    if np.any(arr < 0):
        raise ValueError(f"{name}: shares must be >= 0, got {arr.min()!r}")
    total = arr.sum()
    return None if total <= 0 else arr / total


def hhi(shares: Sequence[float] | np.ndarray) -> float:
    """Herfindahl-Hirschman index on the 0..10,000 scale.

    Args:
        shares: each firm's size in any unit (H100e, tokens, USD); normalised here.

    Returns 10,000 x sum of squared shares: 10,000 for a monopoly, 10,000/n for n equal
    firms; 0.0 for an empty market (no firm with positive size), where no concentration
    can be measured.
    """
    s = _shares(shares, "hhi")
    return 0.0 if s is None else float(10_000.0 * np.sum(s * s))


def concentration_ratio(shares: Sequence[float] | np.ndarray, n: int) -> float:
    """CR-n: combined share (0..1) of the n largest firms; 0.0 for an empty market."""
    if n < 1:
        raise ValueError(f"concentration_ratio: n must be >= 1, got {n}")
    s = _shares(shares, "concentration_ratio")
    if s is None:
        return 0.0
    return float(np.sort(s)[::-1][:n].sum())


def concentration_label(hhi_value: float) -> str:
    """Where an HHI stands against the 2023 (1,800) and 2010 (2,500) guideline thresholds."""
    if hhi_value > HHI_HIGHLY_CONCENTRATED_2010:
        return "highly concentrated (2010 and 2023 guidelines)"
    if hhi_value > HHI_HIGHLY_CONCENTRATED_2023:
        return "highly concentrated (2023 guidelines)"
    return "not highly concentrated"


def running_drawdown(series: Sequence[float] | np.ndarray) -> np.ndarray:
    """Fractional fall (0..1) of each value below the running maximum so far.

    0 where the series stands at a new high, 0.5 at half the peak; 0 while the running
    peak is still <= 0 (nothing to fall from).
    """
    x = _as_array(series, "running_drawdown")
    if x.size == 0:
        return x
    peak = np.maximum.accumulate(x)
    out = np.zeros_like(x)
    pos = peak > 0
    out[pos] = 1.0 - x[pos] / peak[pos]
    return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True)
class Burst:
    """A burst: the month the drawdown first reached the threshold, and how deep it went.

    month: first index where the series is >= min_drawdown below its running peak.
    peak_month: index of that peak. runup: peak / lowest level before the peak.
    trough_month, depth: the lowest point after the peak (before any new high) and its
    fractional fall from the peak.
    """

    month: int
    peak_month: int
    trough_month: int
    depth: float
    runup: float


def detect_burst(
    valuation: Sequence[float] | np.ndarray,
    min_drawdown: float = BURST_MIN_DRAWDOWN,
    min_runup: float = BURST_MIN_RUNUP,
) -> Burst | None:
    """First burst of an aggregate valuation index, or None.

    A burst is a fall of at least `min_drawdown` from the running peak, where that peak was
    reached by a run-up: peak >= `min_runup` x the lowest value up to the peak. A fall from
    a peak without a run-up (a slow slump from the start) is not a burst; see
    BURST_MIN_RUNUP for why.
    """
    if not 0 < min_drawdown <= 1:
        raise ValueError(f"detect_burst: min_drawdown must be in (0, 1], got {min_drawdown}")
    if min_runup < 1:
        raise ValueError(f"detect_burst: min_runup must be >= 1, got {min_runup}")
    v = _as_array(valuation, "detect_burst")
    peak_i = 0
    low_before_peak = v[0] if v.size else 0.0
    low_so_far = low_before_peak
    for t in range(v.size):
        if v[t] > v[peak_i]:
            peak_i, low_before_peak = t, low_so_far
        low_so_far = min(low_so_far, v[t])
        peak = v[peak_i]
        if peak <= 0 or 1.0 - v[t] / peak < min_drawdown - 1e-12:
            continue
        runup = np.inf if low_before_peak <= 0 else peak / low_before_peak
        if runup < min_runup:
            continue
        after = v[peak_i:]
        higher = np.flatnonzero(after > peak)
        window = after if higher.size == 0 else after[: higher[0]]
        trough = peak_i + int(np.argmin(window))
        return Burst(
            month=t,
            peak_month=peak_i,
            trough_month=trough,
            depth=float(1.0 - v[trough] / peak),
            runup=float(runup),
        )
    return None


@dataclass(frozen=True)
class Consolidation:
    """Firm count fell to <= (1 - min_decline) x its running peak.

    month: first index where it did; peak_month, peak: the peak it fell from;
    decline: 1 - (lowest count after the peak) / peak.
    """

    month: int
    peak_month: int
    peak: float
    decline: float


def detect_consolidation(
    firm_counts: Sequence[float] | np.ndarray, min_decline: float = CONSOLIDATION_MIN_DECLINE
) -> Consolidation | None:
    """First month the firm count is down by >= `min_decline` from its running peak."""
    if not 0 < min_decline <= 1:
        raise ValueError(f"detect_consolidation: min_decline must be in (0, 1], got {min_decline}")
    n = _as_array(firm_counts, "detect_consolidation")
    dd = running_drawdown(n)
    hits = np.flatnonzero(dd >= min_decline - 1e-12)
    if hits.size == 0:
        return None
    t = int(hits[0])
    peak_i = int(np.argmax(n[: t + 1]))
    peak = float(n[peak_i])
    return Consolidation(
        month=t, peak_month=peak_i, peak=peak, decline=float(1.0 - n[peak_i:].min() / peak)
    )


def entrant_survival(agents: pl.DataFrame, kind: str = "startup") -> float:
    """Share of the firms of `kind` that entered after the first month and are alive in the
    last one (agents frame: one row per live agent per month, with step, agent_id, kind,
    alive). NaN when no firm entered: nothing to measure."""
    a = agents.filter(pl.col("kind") == kind)
    first_step, last_step = agents["step"].min(), agents["step"].max()
    born = a.group_by("agent_id").agg(pl.col("step").min().alias("born"))
    entrants = born.filter(pl.col("born") > first_step)["agent_id"]
    if entrants.len() == 0:
        return float("nan")
    alive = a.filter((pl.col("step") == last_step) & pl.col("alive"))["agent_id"]
    return float(entrants.is_in(alive.implode()).mean())


def trailing_sum(flow: Sequence[float] | np.ndarray, window: int = ANNUAL_WINDOW) -> np.ndarray:
    """Sum over the last `window` months (fewer at the start of the series)."""
    if window < 1:
        raise ValueError(f"trailing_sum: window must be >= 1, got {window}")
    x = _as_array(flow, "trailing_sum")
    c = np.concatenate([[0.0], np.cumsum(x)])
    lo = np.maximum(np.arange(1, x.size + 1) - window, 0)
    return c[1:] - c[lo]


def capex_to_revenue(
    capex: Sequence[float] | np.ndarray,
    revenue: Sequence[float] | np.ndarray,
    window: int = ANNUAL_WINDOW,
) -> np.ndarray:
    """Capex-to-revenue gap: trailing-`window` capex over trailing AI revenue, per month.

    The bubble's "fundamental gap" indicator (S07: 2026 capex ~690bn against <40bn of pure-AI
    revenue, >17x). NaN where trailing revenue is zero (no ratio defined).
    """
    cap = trailing_sum(capex, window)
    rev = trailing_sum(revenue, window)
    out = np.full_like(cap, np.nan)
    ok = rev > 0
    out[ok] = cap[ok] / rev[ok]
    return out


def valuation_to_revenue(
    valuation: Sequence[float] | np.ndarray,
    revenue: Sequence[float] | np.ndarray,
    window: int = ANNUAL_WINDOW,
) -> np.ndarray:
    """Aggregate revenue multiple: valuation over annualised trailing revenue, per month.

    Partial windows at the start are scaled to a year (mean x 12), so month 0 already has a
    multiple. NaN where trailing revenue is zero.
    """
    v = _as_array(valuation, "valuation_to_revenue")
    rev = trailing_sum(revenue, window)
    months = np.minimum(np.arange(1, v.size + 1), window)
    annual = rev * (ANNUAL_WINDOW / months)
    out = np.full_like(v, np.nan)
    ok = annual > 0
    out[ok] = v[ok] / annual[ok]
    return out


def _full_window_max(ratio: np.ndarray, window: int) -> float:
    """Max of a trailing-window ratio over months with a full window (all months if none)."""
    tail = ratio[window - 1 :] if ratio.size >= window else ratio
    finite = tail[np.isfinite(tail)]
    return float(finite.max()) if finite.size else float("nan")


def decline(series: np.ndarray, start: int, end: int) -> float:
    """Fractional fall 1 - x[end]/x[start] (negative for a rise); NaN if x[start] <= 0."""
    return float("nan") if series[start] <= 0 else float(1.0 - series[end] / series[start])


def run_summary(model: pl.DataFrame) -> dict[str, object]:
    """Per-run scores from the model frame (one row per month, ordered by step).

    Contract keys (interfaces.md): burst, burst_month, max_drawdown, peak_valuation_to_revenue,
    final_hhi_compute, final_hhi_tokens, firms_alive_final, api_price_decline,
    gpu_price_peak_to_trough, capex_to_revenue_peak; the rest are extras for validation.
    Declines and drawdowns are fractions (0.8 = down 80%). NaN where undefined.
    """
    missing = [c for c in SUMMARY_COLUMNS if c not in model.columns]
    if missing:
        raise ValueError(f"run_summary: model frame lacks columns {missing}")
    if model.height == 0:
        raise ValueError("run_summary: model frame has no rows")
    m = model.sort("step")
    col = {c: _as_array(m[c], c) for c in SUMMARY_COLUMNS}
    last = m.height - 1
    two_years = min(TWO_YEARS, last)

    val = col["valuation_index_usd"]
    burst = detect_burst(val)
    price = col["api_price_index_usd_per_mtok"]
    volume = col["token_volume_mtok"]
    spend = price * volume

    gpu = col["gpu_hour_price_usd"]
    gpu_peak_i = int(np.argmax(gpu))
    gpu_peak = float(gpu[gpu_peak_i])
    gpu_trough = float(gpu[gpu_peak_i:].min())

    startups = col["n_startups_alive"]
    startups_peak = float(startups.max())
    startup_decline = float(1.0 - startups[last] / startups_peak) if startups_peak > 0 else 0.0
    consolidation = detect_consolidation(startups)
    hhi_c, hhi_t = col["hhi_compute"], col["hhi_tokens"]

    price_decline_2y = decline(price, 0, two_years)
    volume_growth_2y = float(volume[two_years] / volume[0]) if volume[0] > 0 else float("nan")
    spend_growth_2y = float(spend[two_years] / spend[0]) if spend[0] > 0 else float("nan")

    return {
        "burst": burst is not None,
        "burst_month": None if burst is None else burst.month,
        "max_drawdown": float(running_drawdown(val).max()),
        "peak_valuation_to_revenue": _full_window_max(
            valuation_to_revenue(val, col["ai_revenue_usd"]), 1
        ),
        "final_hhi_compute": float(hhi_c[last]),
        "final_hhi_tokens": float(hhi_t[last]),
        "firms_alive_final": int(startups[last]),
        "api_price_decline": decline(price, 0, last),
        "gpu_price_peak_to_trough": 1.0 - gpu_trough / gpu_peak if gpu_peak > 0 else float("nan"),
        "capex_to_revenue_peak": _full_window_max(
            capex_to_revenue(col["capex_usd"], col["ai_revenue_usd"]), ANNUAL_WINDOW
        ),
        # extras
        "months": m.height,
        "burst_peak_month": None if burst is None else burst.peak_month,
        "burst_depth": None if burst is None else burst.depth,
        "api_price_decline_2y": price_decline_2y,
        "token_volume_growth_2y": volume_growth_2y,
        "token_spend_growth_2y": spend_growth_2y,
        "jevons": bool(spend_growth_2y > 1.0),
        "gpu_price_peak_usd": gpu_peak,
        "gpu_price_peak_month": gpu_peak_i,
        "gpu_price_trough_usd": gpu_trough,
        "startups_peak": startups_peak,
        "startup_decline": startup_decline,
        "consolidation": consolidation is not None,
        "consolidation_month": None if consolidation is None else consolidation.month,
        "hhi_compute_rise": float(hhi_c[last] - hhi_c[0]),
        "hhi_tokens_rise": float(hhi_t[last] - hhi_t[0]),
        "final_concentration_compute": concentration_label(float(hhi_c[last])),
    }
