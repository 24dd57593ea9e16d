"""Property tests: random valid parameters never break an invariant, produce NaN or crash;
random loan books amortise as their schedules say.

Small worlds (few agents, 15 months) so that a handful of examples stay fast. Every step
runs the ledger and physical checks (world/collect.py: check_invariants).
"""

from __future__ import annotations

import functools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.hyperscaler import annuity
from scenarios.config import load_scenario
from world.model import ComputeEconomy

PARAMS = st.fixed_dictionaries({
    "startups.n": st.integers(1, 12),
    "investors.n_vc": st.integers(1, 6),
    "hyperscalers.n_us": st.integers(0, 3),
    "hyperscalers.n_cn": st.integers(0, 2),
    "hyperscalers.n_neocloud": st.integers(0, 2),
    "hyperscalers.n_state": st.integers(0, 2),
    "hyperscalers.construction_lag_months": st.integers(0, 36),
    "investors.trend_following": st.booleans(),
    "investors.trend_strength": st.floats(0.0, 2.5),
    "investors.switching_intensity": st.floats(0.0, 100.0),
    "startups.penetration_pricing": st.booleans(),
    "startups.subsidy_depth": st.floats(0.0, 0.95),
    "demand.coding.elasticity": st.floats(0.0, 3.0),
    "markets.fire_sale_discount": st.floats(0.0, 0.99),
    "hyperscalers.neocloud_ltv": st.floats(0.0, 0.95),
    "policy.export_controls": st.booleans(),
    "rates.base_rate": st.floats(-0.05, 0.3),
})


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(over=PARAMS, seed=st.integers(0, 2**31 - 1))
def test_random_valid_worlds_keep_every_invariant(over: dict, seed: int) -> None:
    m = ComputeEconomy(load_scenario("baseline", over).params, seed=seed)
    for _ in range(15):
        m.step()  # raises InvariantError on any breach
    frame = m.model_frame()
    assert frame.height == 15
    for col in frame.columns:
        if col != "date":
            assert all(math.isfinite(v) for v in frame[col].to_list()), col
    assert sum(m.ledger.balances.values()) == 0


@functools.cache
def _debt_world() -> ComputeEconomy:
    """One small world, built once: the loan tests reset a neocloud's loans themselves."""
    return ComputeEconomy(load_scenario("baseline", ["startups.n=2", "investors.n_vc=1"]).params, seed=0)


@settings(max_examples=25, deadline=None)
@given(loans=st.lists(st.tuples(st.floats(1e6, 1e10), st.integers(0, 30)), min_size=1, max_size=6),
       rate=st.floats(0.0, 0.15))
def test_loans_amortise_to_zero_on_their_own_schedules(loans: list[tuple[float, int]], rate: float) -> None:
    """Loans taken in any months, at a policy rate that then stays put, each pay interest
    until their chips can earn and then their own annuity over the term: every one is gone
    once its term is over, no balance ever grows or goes negative, and what the neocloud
    paid is exactly that sum."""
    m = _debt_world()
    hp = m.p.hyperscalers
    neo = next(o for o in m.owners if o.variant == "neocloud")
    neo.loans, neo.rental_history = [], [1e12] * 3  # rich in rent: no covenant sale interferes
    steps0, m.rate = m.steps, rate
    r, n = (rate + hp.debt_rate_spread) / 12, hp.debt_term_months
    wait = hp.construction_lag_months + m.p.vendors.lead_time_months
    expected = sum(usd * (r * wait + annuity(r, n) * n) for usd, _ in loans)
    paid = 0.0
    for t in range(30 + wait + n + 1):
        m.steps = steps0 + t
        for usd, month in loans:
            if month == t:
                neo.borrow(usd)
        before = {id(k): k.balance_usd for k in neo.loans}
        cash = m.ledger.usd(neo.unique_id)
        neo.service_debt()
        paid += cash - m.ledger.usd(neo.unique_id)
        assert all(0.0 <= k.balance_usd <= before[id(k)] * (1 + 1e-12) for k in neo.loans)
    m.steps = steps0
    assert neo.loans == [] and neo.debt_usd == 0.0
    assert paid == pytest.approx(expected, rel=1e-9, abs=10.0 * len(loans))
