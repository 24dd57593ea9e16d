"""Token demand: segments (chat, enterprise, coding agents, multimodal) in two regions.

Reference volume = Bass-adopted users x tokens per user (growing with agentic use, and
jumping with demand-shock events). The volume bought responds to the segment's average
price with a constant elasticity (above one where the evidence says so: Jevons, S08/S09).
"""

from __future__ import annotations

import math

import numpy as np

from world.params import DemandParams, Segment

SEGMENTS = ("chat", "enterprise", "coding", "multimodal")
REGIONS = ("us", "cn")


def bass_share(p: float, q: float, start_share: float, years: float) -> float:
    """Adopted share after `years`, on the Bass curve shifted so that F(0) = start_share."""
    if p + q <= 0:
        return start_share
    x0 = (1 - start_share) / (1 + start_share * q / max(p, 1e-12))
    t0 = -math.log(x0) / (p + q)
    e = math.exp(-(p + q) * (t0 + years))
    return (1 - e) / (1 + (q / max(p, 1e-12)) * e)


def segments(params: DemandParams) -> list[Segment]:
    """The segment parameter blocks in SEGMENTS order."""
    return [getattr(params, name) for name in SEGMENTS]


def reference_volume(params: DemandParams, years: float, multipliers: np.ndarray) -> np.ndarray:
    """Mtok per month per (region, segment) at the reference price, shape (2, 4)."""
    out = np.zeros((len(REGIONS), len(SEGMENTS)))
    for k, seg in enumerate(segments(params)):
        users = seg.users_max_m * 1e6 * bass_share(seg.bass_p, seg.bass_q, seg.users_2023_share, years)
        mtok = users * seg.mtok_per_user_month * (1 + seg.tokens_growth_per_year) ** min(years, seg.tokens_growth_years) \
            * multipliers[k]
        out[0, k] = mtok * (1 - seg.cn_share)
        out[1, k] = mtok * seg.cn_share
    return out


def priced_volume(reference: np.ndarray, avg_price: np.ndarray, reference_price: float,
                  elasticity: np.ndarray) -> np.ndarray:
    """Constant-elasticity response: V = V_ref x (P / P_ref)^-elasticity, per segment."""
    return reference * (avg_price / reference_price) ** (-elasticity)
