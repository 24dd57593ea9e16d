"""Detectors of world/metrics.py on series worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from world import metrics
from world.metrics import (
    capex_to_revenue,
    concentration_label,
    concentration_ratio,
    detect_burst,
    detect_consolidation,
    entrant_survival,
    hhi,
    run_summary,
    running_drawdown,
    trailing_sum,
    valuation_to_revenue,
)


@pytest.mark.parametrize(
    ("shares", "expected"),
    [
        ([1.0], 10_000.0),  # monopoly
        ([50, 50], 5_000.0),
        ([25, 25, 25, 25], 2_500.0),
        ([30, 30, 20, 20], 900 + 900 + 400 + 400),  # 2,600
        ([3, 3, 2, 2], 2_600.0),  # units do not matter
        ([60, 40, 0], 3_600 + 1_600),  # a dead firm with zero size changes nothing
        ([], 0.0),  # empty market
        ([0, 0], 0.0),
    ],
)
def test_hhi_hand_checked(shares: list[float], expected: float) -> None:
    assert hhi(shares) == pytest.approx(expected)


def test_hhi_rejects_negative_and_nan() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        hhi([1.0, -1.0])
    with pytest.raises(ValueError, match="non-finite"):
        hhi([1.0, float("nan")])


def test_guideline_thresholds_and_labels() -> None:
    assert metrics.HHI_HIGHLY_CONCENTRATED_2023 == 1_800
    assert metrics.HHI_HIGHLY_CONCENTRATED_2010 == 2_500
    assert concentration_label(hhi([25, 25, 25, 25])) == "highly concentrated (2023 guidelines)"
    assert concentration_label(hhi([30, 30, 20, 20])).startswith("highly concentrated (2010")
    assert concentration_label(hhi([10] * 10)) == "not highly concentrated"  # 1,000


@pytest.mark.parametrize(
    ("shares", "n", "expected"),
    [
        ([30, 30, 20, 20], 2, 0.6),
        ([20, 30, 20, 30], 1, 0.3),  # order of the input does not matter
        ([5, 5], 4, 1.0),  # n beyond the number of firms
        ([0, 0], 2, 0.0),
    ],
)
def test_concentration_ratio_hand_checked(shares: list[float], n: int, expected: float) -> None:
    assert concentration_ratio(shares, n) == pytest.approx(expected)


def test_concentration_ratio_needs_positive_n() -> None:
    with pytest.raises(ValueError, match="n must be >= 1"):
        concentration_ratio([1, 2], 0)


@given(st.lists(st.floats(0, 1e12, allow_nan=False), min_size=1, max_size=40))
def test_hhi_bounds(shares: list[float]) -> None:
    """10,000/n <= HHI <= 10,000 for n firms of positive size; CR1 >= 1/n."""
    positive = [s for s in shares if s > 0]
    h = hhi(shares)
    if sum(positive) <= 0 or not np.isfinite(sum(positive)):
        return
    n = len(positive)
    assert 10_000 / n - 1e-6 <= h <= 10_000 + 1e-6
    assert concentration_ratio(shares, 1) >= 1 / n - 1e-12


def test_running_drawdown_hand_checked() -> None:
    dd = running_drawdown([1.0, 2.0, 1.0, 3.0, 1.5, 0.0])
    np.testing.assert_allclose(dd, [0.0, 0.0, 0.5, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(running_drawdown([0.0, 0.0, 1.0]), [0.0, 0.0, 0.0])
    assert running_drawdown([]).size == 0


def test_burst_after_runup() -> None:
    # Runs from 1 to 8 (8x) by month 4, halves at month 5, bottoms at 2 in month 7.
    v = [1, 1, 2, 4, 8, 4, 3.9, 2, 3, 5]
    b = detect_burst(v)
    assert b is not None
    assert (b.month, b.peak_month, b.trough_month) == (5, 4, 7)
    assert b.depth == pytest.approx(0.75)
    assert b.runup == pytest.approx(8.0)


def test_no_burst_for_a_slump_without_runup() -> None:
    """Falling 90% from month 0 is a slump: there was no boom to burst."""
    assert detect_burst(np.linspace(10, 1, 30)) is None


def test_no_burst_when_the_fall_is_shallow() -> None:
    assert detect_burst([1, 2, 4, 8, 4.1, 5, 6]) is None  # -48.75%, not -50%


def test_burst_runup_counts_from_the_low_before_the_peak() -> None:
    # A dip to 1 then a rise to 3 (3x from the low) then -60%: a burst, runup 3.
    b = detect_burst([2, 1, 2, 3, 1.2])
    assert b is not None and b.runup == pytest.approx(3.0) and b.month == 4
    # The same shape with a stricter run-up requirement is not a burst.
    assert detect_burst([2, 1, 2, 3, 1.2], min_runup=4.0) is None


def test_burst_depth_stops_at_recovery() -> None:
    # Peak 10 at 2, trough 4 at 3 (-60%), recovers above 10, later falls to 1 from 20.
    b = detect_burst([5, 8, 10, 4, 12, 20, 1])
    assert b is not None and (b.peak_month, b.trough_month) == (2, 3)
    assert b.depth == pytest.approx(0.6)


def test_burst_parameters_validated() -> None:
    with pytest.raises(ValueError, match="min_drawdown"):
        detect_burst([1, 2], min_drawdown=0)
    with pytest.raises(ValueError, match="min_runup"):
        detect_burst([1, 2], min_runup=0.5)


def test_consolidation_hand_checked() -> None:
    c = detect_consolidation([10, 40, 36, 25, 20, 18, 22])
    assert c is not None
    assert (c.month, c.peak_month, c.peak) == (4, 1, 40.0)
    assert c.decline == pytest.approx(1 - 18 / 40)
    assert detect_consolidation([10, 40, 36, 25, 21]) is None


def test_trailing_sum_and_capex_gap() -> None:
    np.testing.assert_allclose(trailing_sum([1, 2, 3, 4], window=2), [1, 3, 5, 7])
    gap = capex_to_revenue([10, 20, 30], [0, 1, 2], window=2)
    assert math.isnan(gap[0])  # no revenue yet: undefined
    np.testing.assert_allclose(gap[1:], [30 / 1, 50 / 3])


def test_valuation_multiple_annualises_partial_windows() -> None:
    # Revenue 1/month: month 0 annualises to 12, so a valuation of 120 is a 10x multiple.
    vm = valuation_to_revenue([120, 240, 360], [1, 1, 1])
    np.testing.assert_allclose(vm, [10.0, 20.0, 30.0])


def _frame(months: int = 36) -> pl.DataFrame:
    """A hand-made run: a boom to month 18, a 70% bust, a price collapse, consolidation."""
    t = np.arange(months)
    val = np.where(t <= 18, 100.0 * 1.1**t, 100.0 * 1.1**18 * 0.3)
    gpu = np.where(t < 6, 2.0 + t, np.maximum(8.0 - (t - 6) * 0.5, 2.0))  # peak 8 at month 6
    price = 10.0 * 0.9**t
    volume = 100.0 * 1.2**t
    startups = np.where(t < 10, 40 + t, np.maximum(49 - 2 * (t - 9), 15))
    return pl.DataFrame(
        {
            "step": t,
            "date": [f"{2023 + m // 12}-{m % 12 + 1:02d}" for m in t],
            "valuation_index_usd": val,
            "ai_revenue_usd": np.full(months, 1.0),
            "capex_usd": np.where(t < 12, 5.0, 20.0),
            "hhi_compute": 1_000.0 + 50.0 * t,
            "hhi_tokens": 2_000.0 + 10.0 * t,
            "n_startups_alive": startups,
            "api_price_index_usd_per_mtok": price,
            "gpu_hour_price_usd": gpu,
            "token_volume_mtok": volume,
        }
    )


def test_run_summary_hand_checked() -> None:
    s = run_summary(_frame().reverse())  # row order does not matter: sorted by step
    assert s["burst"] is True
    assert s["burst_month"] == 19 and s["burst_peak_month"] == 18
    assert s["max_drawdown"] == pytest.approx(0.7)
    # Peak multiple: month 18, valuation 100*1.1^18 over 12/year of revenue.
    assert s["peak_valuation_to_revenue"] == pytest.approx(100 * 1.1**18 / 12)
    assert s["final_hhi_compute"] == pytest.approx(1_000 + 50 * 35)
    assert s["final_hhi_tokens"] == pytest.approx(2_000 + 10 * 35)
    assert s["firms_alive_final"] == 15
    assert s["api_price_decline"] == pytest.approx(1 - 0.9**35)
    assert s["api_price_decline_2y"] == pytest.approx(1 - 0.9**24)
    assert s["gpu_price_peak_to_trough"] == pytest.approx(1 - 2 / 8)
    assert s["gpu_price_peak_month"] == 6
    # All capex windows full from month 11; peak at months 23+: 12 x 20 over 12 x 1.
    assert s["capex_to_revenue_peak"] == pytest.approx(20.0)
    # Volume x1.2/month against price x0.9/month: spending x1.08/month (Jevons).
    assert s["token_spend_growth_2y"] == pytest.approx(1.08**24)
    assert s["jevons"] is True
    assert s["startups_peak"] == 49 and s["startup_decline"] == pytest.approx(1 - 15 / 49)
    assert s["consolidation"] is True
    assert s["consolidation_month"] == 22  # 49 - 2*13 = 23 <= 24.5 first at month 22
    assert s["hhi_compute_rise"] == pytest.approx(50 * 35)


def test_run_summary_calm_run() -> None:
    t = np.arange(30)
    calm = _frame(30).with_columns(
        pl.Series("valuation_index_usd", 100.0 + t),
        pl.Series("n_startups_alive", np.full(30, 40)),
    )
    s = run_summary(calm)
    assert s["burst"] is False and s["burst_month"] is None and s["burst_depth"] is None
    assert s["max_drawdown"] == 0.0
    assert s["consolidation"] is False and s["startup_decline"] == 0.0


def test_run_summary_names_missing_columns() -> None:
    with pytest.raises(ValueError, match="capex_usd"):
        run_summary(_frame().drop("capex_usd"))


def test_entrant_survival_hand_checked() -> None:
    # Firm 1 is there from month 0 (not an entrant); 2 enters in month 1 and dies in 2;
    # 3 enters in month 1 and lives; 4 enters in month 2 and lives; 9 is a VC (other kind).
    rows = [
        (0, 1, "startup", True), (0, 9, "vc", True),
        (1, 1, "startup", True), (1, 2, "startup", True), (1, 3, "startup", True),
        (2, 1, "startup", True), (2, 2, "startup", False), (2, 3, "startup", True),
        (2, 4, "startup", True), (2, 9, "vc", True),
    ]
    agents = pl.DataFrame(rows, schema=["step", "agent_id", "kind", "alive"], orient="row")
    assert entrant_survival(agents) == pytest.approx(2 / 3)
    assert math.isnan(entrant_survival(agents.filter(pl.col("agent_id") == 1)))
