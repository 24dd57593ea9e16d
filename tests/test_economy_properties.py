"""Property tests: random valid parameters never break an invariant, produce NaN or crash.

Small worlds (few agents, 15 months) so that a handful of examples stay fast. Every step
runs the ledger and physical checks (world/collect.py: check_invariants).
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
