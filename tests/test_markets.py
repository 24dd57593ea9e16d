"""Each market alone, on arrays worked out by hand (ABIDES style)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from world.markets import capital, chips, gpu_hours, m_and_a, tokens


# --- chips --------------------------------------------------------------------------------
def test_export_rules_split_regions() -> None:
    r = ("restricted-cn",)
    assert chips.export_allowed("restricted-cn", "us", r)
    assert not chips.export_allowed("restricted-cn", "cn", r)
    assert chips.export_allowed("restricted-cn", "cn", ())  # no controls: CN may buy
    assert chips.export_allowed("unrestricted", "cn", r)
    assert chips.export_allowed("domestic-cn", "cn", r)
    assert not chips.export_allowed("domestic-cn", "us", r)


def test_scarce_chips_go_to_contracts_then_older_then_larger_orders() -> None:
    # capacity 100; orders: (qty, priority, step, id)
    qty = np.array([50.0, 40.0, 30.0, 30.0, 20.0])
    prio = np.array([0, 1, 0, 0, 0])
    step = np.array([1, 2, 0, 1, 1])
    ids = np.array([5, 9, 7, 3, 1])
    filled = chips.allocate(100.0, qty, prio, step, ids)
    # contract (40) first, then the oldest order (30), then the larger of step 1 (50 -> 30 left)
    assert filled.tolist() == [30.0, 40.0, 30.0, 0.0, 0.0]
    assert filled.sum() == 100.0


def test_equal_orders_tie_break_on_lower_id() -> None:
    filled = chips.allocate(10.0, np.array([10.0, 10.0]), np.zeros(2), np.zeros(2), np.array([8, 2]))
    assert filled.tolist() == [0.0, 10.0]


def test_allocation_with_spare_capacity_fills_everything() -> None:
    filled = chips.allocate(1000.0, np.array([10.0, 20.0]), np.zeros(2), np.zeros(2), np.array([1, 2]))
    assert filled.tolist() == [10.0, 20.0]


# --- GPU-hours ----------------------------------------------------------------------------
def _clear(bids, asks):
    b = np.array(bids, float).reshape(-1, 3)
    a = np.array(asks, float).reshape(-1, 3)
    return gpu_hours.clear(b[:, 0], b[:, 1], b[:, 2], a[:, 0], a[:, 1], a[:, 2])


def test_shortage_marginal_bid_sets_the_price() -> None:
    # bids (qty, price, id): 10 @ 5, 10 @ 3; one ask 15 @ 2 -> the 3.0 bid is partly filled
    res = _clear([(10, 5.0, 1), (10, 3.0, 2)], [(15, 2.0, 7)])
    assert res.volume == 15
    assert res.price == 3.0
    assert res.bid_fill.tolist() == [10, 5]
    assert res.ask_fill.tolist() == [15]
    assert res.unmet_bid == 5


def test_glut_marginal_ask_sets_the_price() -> None:
    # one bid 10 @ 9; asks 8 @ 1 (id 4), 8 @ 2 (id 5), 8 @ 3 (id 6) -> second ask marginal
    res = _clear([(10, 9.0, 1)], [(8, 1.0, 4), (8, 2.0, 5), (8, 3.0, 6)])
    assert res.volume == 10
    assert res.price == 2.0
    assert res.ask_fill.tolist() == [8, 2, 0]


def test_exact_match_price_is_midpoint_of_the_interval() -> None:
    # 10 @ 6 against 10 @ 2; next bid 4 (unfilled, below... no: next ask 5) -> [max(2,4), min(6,5)] = [4,5]
    res = _clear([(10, 6.0, 1), (5, 4.0, 2)], [(10, 2.0, 3), (5, 5.0, 4)])
    assert res.volume == 10
    assert res.price == 4.5


def test_equal_asks_fill_lower_id_first() -> None:
    res = _clear([(5, 9.0, 1)], [(5, 2.0, 9), (5, 2.0, 3)])
    assert res.ask_fill.tolist() == [0, 5]


def test_no_crossing_quotes_best_ask_and_trades_nothing() -> None:
    res = _clear([(5, 1.0, 1)], [(5, 2.0, 2), (5, 3.0, 3)])
    assert res.volume == 0 and res.price == 2.0 and res.unmet_bid == 5


def test_empty_market_has_no_price() -> None:
    res = _clear([], [])
    assert math.isnan(res.price) and res.volume == 0


def test_reservation_is_power_plus_share_of_depreciation() -> None:
    assert gpu_hours.reservation_price(100.0, 500.0, 0.5) == 350.0


# --- tokens -------------------------------------------------------------------------------
def test_logit_shares_follow_utility_and_eligibility() -> None:
    u = np.array([[0.0, math.log(3.0), 5.0]])
    elig = np.array([[True, True, False]])
    sh = tokens.logit_shares(u, elig)
    assert sh[0].tolist() == pytest.approx([0.25, 0.75, 0.0])
    assert tokens.logit_shares(u, np.zeros_like(elig)).sum() == 0.0


def test_rationing_and_spill_over_conserve_demand() -> None:
    # one segment of 100 Mtok, two equal providers (shares 0.5/0.5), capacities 20 and 100.
    u = np.zeros((1, 2))
    elig = np.ones((1, 2), bool)
    sh = tokens.logit_shares(u, elig)
    res = tokens.clear(np.array([100.0]), sh, u, elig, np.array([20.0, 100.0]), spill_share=0.5, rounds=1)
    # round 0: A serves 20 of 50 (30 rationed), B 50. Round 1: 15 spill to B (only open), 15 lost.
    assert res.served[0].tolist() == pytest.approx([20.0, 65.0])
    assert res.unmet.tolist() == pytest.approx([15.0])
    assert res.rationed.tolist() == pytest.approx([30.0, 0.0])
    assert res.served.sum() + res.unmet.sum() == pytest.approx(100.0)


def test_segment_without_eligible_provider_is_all_unmet() -> None:
    u = np.zeros((2, 1))
    elig = np.array([[True], [False]])
    sh = tokens.logit_shares(u, elig)
    res = tokens.clear(np.array([10.0, 7.0]), sh, u, elig, np.array([100.0]), 1.0, 2)
    assert res.served[:, 0].tolist() == [10.0, 0.0]
    assert res.unmet.tolist() == [0.0, 7.0]


def test_price_index_counts_only_capable_providers() -> None:
    idx = tokens.price_index(np.array([10.0, 30.0, 100.0]), np.array([4.0, 2.0, 0.1]),
                             np.array([25.5, 25.0, 24.0]), 25.0)
    assert idx == pytest.approx((10 * 4 + 30 * 2) / 40)


# --- capital ------------------------------------------------------------------------------
def test_distress_news_counts_firms_not_the_chip_classes_they_fire_sell() -> None:
    """A neocloud that goes bankrupt and fire-sells three chip classes is one failure; a
    covenant breach's fire sale by another firm is a second; other months and kinds are not."""
    events = [{"step": 5, "kind": "bankruptcy", "agent_id": 7}]
    events += [{"step": 5, "kind": "fire_sale", "agent_id": 7} for _ in range(3)]
    events += [{"step": 5, "kind": "fire_sale", "agent_id": 9}, {"step": 4, "kind": "bankruptcy", "agent_id": 3},
               {"step": 5, "kind": "funding_round", "agent_id": 2}]
    assert capital.distress_news(events, 5, alive=10) == pytest.approx(-0.5 * 2 / 10)
    assert capital.distress_news(events, 6, alive=10) == 0.0
    assert capital.distress_news(events, 5, alive=0) == pytest.approx(-1.0)  # an empty field counts as one


def test_syndicate_lead_prices_and_close_quotes_join() -> None:
    # ask 100; quotes (pre-money) 200 (id 3), 180 (id 1), 100 (id 2); tickets 60, 60, 60
    pre, fills = capital.syndicate(100.0, np.array([200.0, 180.0, 100.0]), np.array([60.0, 60.0, 60.0]),
                                   np.array([3, 1, 2]))
    assert pre == 200.0
    assert fills.tolist() == [60.0, 40.0, 0.0]  # 100 is more than 25% below the lead


def test_optional_rounds_are_sized_by_the_book_needed_rounds_need_their_minimum() -> None:
    # a book covering 20% of the ask: a round the lab must raise fails at a 30% minimum...
    assert not capital.round_closes(20.0, 100.0, True, 0.3, 0.1)
    # ...a round raised by choice takes the 20% at the lead's price...
    assert capital.round_closes(20.0, 100.0, False, 0.3, 0.1)
    # ...but not a token book under its own minimum
    assert not capital.round_closes(5.0, 100.0, False, 0.3, 0.1)
    assert capital.round_closes(30.0, 100.0, True, 0.3, 0.1)


def test_round_kinds() -> None:
    assert capital.round_kind(100.0, 0.0) == "first"
    assert capital.round_kind(130.0, 100.0) == "up"
    assert capital.round_kind(102.0, 100.0) == "flat"
    assert capital.round_kind(60.0, 100.0) == "down"


def test_brock_hommes_share_is_logit_of_fitness_and_off_when_disabled() -> None:
    assert capital.trend_share(0.0, 0.0, 5.0, True) == 0.5
    assert capital.trend_share(-1.0, 0.0, math.log(3.0), True) == pytest.approx(0.75)
    assert capital.trend_share(-1.0, 0.0, 10.0, False) == 0.0


def test_trend_followers_extrapolate_and_fundamentalists_revert() -> None:
    f, c = capital.forecasts(0.2, reversion=0.5, trend=1.2)
    assert f == pytest.approx(0.1) and c == pytest.approx(0.24)


def test_brock_hommes_step_by_hand() -> None:
    # x1 = 0.1, equal fitness -> share 0.5; f_f = 0, f_c = 0.12; R = 1 (rate 0); no news/noise
    st = capital.step(capital.CapitalState(x=[0.0, 0.1]), 0.0, 0.0, reversion=0.0, trend=1.2,
                      intensity=1.0, memory=0.0, cost=0.01, rate=0.0, enabled=True)
    assert st.x[-1] == pytest.approx(0.06)
    gain = (0.06 - 0.1) * capital.PROFIT_SCALE  # -0.4
    assert st.fitness_fund == pytest.approx(gain * (0.0 - 0.1) - 0.01)  # 0.03
    assert st.fitness_trend == pytest.approx(gain * (0.12 - 0.1))  # -0.008
    assert st.trend_share == pytest.approx(1 / (1 + math.exp(0.038)))


def test_without_trend_followers_sentiment_is_news_and_noise_only() -> None:
    st = capital.CapitalState(x=[0.4, 0.5])
    st = capital.step(st, 0.0, 0.0, 0.0, 1.3, 10.0, 0.5, 0.02, 0.05, enabled=False)
    assert st.x[-1] == 0.0 and st.trend_share == 0.0


def test_trend_followers_can_run_a_bubble() -> None:
    # all trend followers (fitness far apart): x grows by g/R a month until the cap
    st = capital.CapitalState(x=[0.0, 0.1], fitness_trend=10.0)
    for _ in range(30):
        st = capital.step(st, 0.0, 0.0, 0.0, 1.3, 10.0, 0.9, 0.0, 0.0, enabled=True)
    assert st.x[-1] == capital.X_LIMIT


def test_lp_inflows_fall_with_rates_and_rise_with_returns() -> None:
    base = capital.lp_inflow(100.0, 0.03, 0.03, 8.0, 0.0, 1.0)
    assert base == pytest.approx(100.0)
    assert capital.lp_inflow(100.0, 0.08, 0.03, 8.0, 0.0, 1.0) == pytest.approx(100 * math.exp(-0.4))
    assert capital.lp_inflow(100.0, 0.03, 0.03, 8.0, 0.5, 1.0) == pytest.approx(150.0)


# --- M&A ----------------------------------------------------------------------------------
def test_acquirer_is_highest_bid_at_or_above_reserve() -> None:
    assert m_and_a.choose_acquirer(np.array([5.0, 9.0, 9.0]), np.array([4, 8, 2]), 6.0) == 2
    assert m_and_a.choose_acquirer(np.array([5.0, 4.0]), np.array([1, 2]), 6.0) == -1


def test_fire_sale_goes_to_highest_bids_then_stops_at_floor() -> None:
    got = m_and_a.fire_sale(10, np.array([3.0, 5.0, 1.0]), np.array([6, 6, 6]), np.array([1, 2, 3]), 2.0)
    assert got.tolist() == [4, 6, 0]


def test_volume_weighted_price_by_tier_by_hand() -> None:
    """Two large-tier providers: (10 Mtok at $2 + 30 at $1) / 40 = $1.25; the idle one and
    the masked-out one do not count; no volume gives nan (the collector carries it)."""
    served = np.array([10.0, 30.0, 0.0, 50.0])
    price = np.array([2.0, 1.0, 9.0, 0.1])
    high = np.array([True, True, True, False])
    assert tokens.volume_weighted_price(served, price, high) == pytest.approx(1.25)
    assert tokens.volume_weighted_price(served, price, ~high) == pytest.approx(0.1)
    assert math.isnan(tokens.volume_weighted_price(np.zeros(4), price, high))
