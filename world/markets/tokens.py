"""Token market: segments choose providers by multinomial logit, with capacity rationing.

Arrays are segments x providers. A provider below a segment's quality threshold gets no
share there. Demand beyond a provider's capacity is rationed pro rata across segments
(a purchase limit); a share of the rationed users spills over to providers with spare
capacity, by the same logit, for a few rounds; the rest is unmet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from world.demand import REGIONS, priced_volume, reference_volume, segments

if TYPE_CHECKING:
    from world.model import ComputeEconomy


def logit_shares(utility: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Row-wise softmax over eligible providers; rows with none eligible are all zero."""
    u = np.where(eligible, utility, -np.inf)
    top = np.max(u, axis=1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    w = np.where(eligible, np.exp(u - top), 0.0)
    tot = w.sum(axis=1, keepdims=True)
    return np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)


def utility(quality: np.ndarray, price: np.ndarray, latency_ms: np.ndarray, bonus: np.ndarray,
            quality_weight: np.ndarray, price_weight: np.ndarray, latency_weight: np.ndarray) -> np.ndarray:
    """u[s, j] = a_q[s] q[j] - a_p[s] ln p[j] - a_l[s] latency[j]/100 + bonus[s, j]."""
    return (quality_weight[:, None] * quality[None, :]
            - price_weight[:, None] * np.log(price)[None, :]
            - latency_weight[:, None] * (latency_ms / 100.0)[None, :]
            + bonus)


@dataclass(frozen=True)
class TokenClearing:
    served: np.ndarray  # segments x providers, Mtok
    unmet: np.ndarray  # per segment, Mtok
    rationed: np.ndarray  # per provider: demand turned away by its purchase limit, Mtok


def clear(demand: np.ndarray, shares: np.ndarray, utility_: np.ndarray, eligible: np.ndarray,
          capacity: np.ndarray, spill_share: float, rounds: int) -> TokenClearing:
    """Serve segment demand with capacity limits and spill-over.

    Args:
        demand: Mtok wanted per segment this month.
        shares: first-choice logit shares (segments x providers).
        utility_, eligible: used again for spill-over among providers with spare capacity.
        capacity: Mtok each provider can serve this month.
        spill_share: fraction of rationed demand that tries again elsewhere each round.
        rounds: spill-over rounds.
    """
    cap = np.asarray(capacity, float).copy()
    served = np.zeros_like(shares)
    rationed = np.zeros(cap.size)
    lost = np.zeros(demand.size)
    want = demand[:, None] * shares
    lost += demand - want.sum(axis=1)  # segments with no eligible provider
    for r in range(rounds + 1):
        tot = want.sum(axis=0)
        ratio = np.divide(cap, tot, out=np.ones_like(tot), where=tot > 0).clip(max=1.0)
        got = want * ratio[None, :]
        served += got
        cap = np.maximum(cap - got.sum(axis=0), 0.0)
        short = (want - got).sum(axis=1)
        if r == 0:
            rationed = (want - got).sum(axis=0)
        open_ = eligible & (cap > 1e-9)[None, :]
        retry = short * spill_share * open_.any(axis=1) if r < rounds else np.zeros_like(short)
        lost += short - retry
        if not retry.any():
            break
        want = retry[:, None] * logit_shares(utility_, open_)
    return TokenClearing(served, lost, rationed)


def providers(model: ComputeEconomy) -> list:
    """Every live token product: the cloud labs' flagships, their lite lines, the startups.

    A lite line shares its owner's `unique_id`, so sums by firm go through that id.
    """
    labs = [o for o in model.owners if o.alive and o.has_lab]
    return [*labs, *(o.lite for o in labs if o.lite is not None), *(s for s in model.startups if s.alive)]


def run(model: ComputeEconomy) -> None:
    """Serving capacity from the hardware model, posted prices, then each region clears."""
    dp = model.p.demand
    segs = segments(dp)
    qw = np.array([s.quality_min for s in segs]), np.array([s.quality_weight for s in segs])
    pw = np.array([s.price_weight for s in segs])
    lw = np.array([s.latency_weight for s in segs])
    eps = np.array([s.elasticity for s in segs])
    ref = reference_volume(dp, model.years, model.demand_multipliers)
    noise = np.exp(dp.noise_sd * model.streams["demand"].standard_normal(ref.shape))
    for o in model.owners:
        if o.alive and o.has_lab:
            _split_lab_chips(model, o)
    for s in model.startups:
        if s.alive:
            s.adopt_architecture(eager=s.strategy == "efficiency")
            s.set_capacity()
            s.plan_pricing(s.subsidy())
    for o in model.owners:
        if o.alive and o.has_lab:
            if o.lite is not None:
                o.lite.sync_quality()
            for line in (o, o.lite) if o.lite is not None else (o,):
                line.adopt_architecture(eager=False)
                line.set_capacity()
                line.plan_pricing(0.0)
    everyone = providers(model)
    for a in everyone:
        if a.capacity_mtok <= 0:
            # no capacity this month: everything it used to sell is turned away
            a.rationed_mtok = a.served_mtok + a.rationed_mtok
            a.served_mtok = a.token_revenue_usd = 0.0
    served_all, price_all, q_all = [], [], []
    for r, region in enumerate(REGIONS):
        provs = [a for a in everyone if a.region == region and a.capacity_mtok > 0]
        for a in provs:
            a.served_mtok = a.rationed_mtok = a.token_revenue_usd = 0.0
        if not provs:
            model.month[f"demand_{region}"] = float(ref[r].sum())
            model.month[f"unmet_{region}"] = float(ref[r].sum())
            continue
        q = np.array([a.quality for a in provs])
        price = np.array([a.price_usd_per_mtok for a in provs])
        lat = np.array([a.latency_ms for a in provs])
        bonus = np.array([getattr(a, "bonus", (0.0,) * len(segs)) for a in provs]).T
        u = utility(q, price, lat, bonus, qw[1], pw, lw)
        elig = q[None, :] >= qw[0][:, None]
        sh = logit_shares(u, elig)
        avg = np.where(sh.sum(axis=1) > 0, (sh * price[None, :]).sum(axis=1), dp.reference_price_usd_per_mtok)
        demand = priced_volume(ref[r] * noise[r], avg, dp.reference_price_usd_per_mtok, eps)
        res = clear(demand, sh, u, elig, np.array([a.capacity_mtok for a in provs]), dp.spill_share, dp.spill_rounds)
        got = res.served.sum(axis=0)
        for a, g, rat, pr in zip(provs, got, res.rationed, price):
            a.served_mtok, a.rationed_mtok = float(g), float(rat)
            a.token_revenue_usd = float(g * pr)
            model.ledger.transfer("customers", a.unique_id, a.token_revenue_usd, "token_sales")
        model.month[f"demand_{region}"] = float(demand.sum())
        model.month[f"unmet_{region}"] = float(res.unmet.sum())
        model.month[f"served_{region}"] = float(got.sum())
        model.month[f"revenue_{region}"] = float((got * price).sum())
        served_all.append(got)
        price_all.append(price)
        q_all.append(q)
        model.month[f"price_index_{region}"] = price_index(got, price, q, model.p.markets.index_quality)
        high = np.array([a.tier == "large" for a in provs])
        model.month[f"price_high_{region}"] = volume_weighted_price(got, price, high)
        model.month[f"price_low_{region}"] = volume_weighted_price(got, price, ~high)
    if served_all:
        model.month["price_index"] = price_index(np.concatenate(served_all), np.concatenate(price_all),
                                                 np.concatenate(q_all), model.p.markets.index_quality)


def price_index(served: np.ndarray, price: np.ndarray, quality: np.ndarray, q_ref: float) -> float:
    """Constant-capability price: volume-weighted price of providers at or above q_ref.

    nan when no qualifying provider served anything (the collector carries the last value).
    """
    return volume_weighted_price(served, price, quality >= q_ref)


def volume_weighted_price(served: np.ndarray, price: np.ndarray, mask: np.ndarray) -> float:
    """Average price per Mtok paid to the masked providers; nan when they served nothing."""
    ok = mask & (served > 0)
    if not ok.any():
        return float("nan")
    return float((served[ok] * price[ok]).sum() / served[ok].sum())


def _split_lab_chips(model: ComputeEconomy, o) -> None:
    """A lab's own chips go to serving first (up to its need), the rest to training.

    The flagship serves on the newest chips, the lite line on the oldest (a small model
    needs neither the memory nor the bandwidth of the latest parts); training takes what
    is left. Own chips cost what they would earn rented out (the lab's opportunity cost);
    chips rented from a neocloud on an offtake contract cost their contract price.
    """
    o.serving_chips, o.serving_cost_usd, o.lab_training_chips = {}, 0.0, {}
    left = dict(o.internal_use)
    cost = {c: n * max(o.reservation_usd(c), model.gpu_price.get((o.region, c), 0.0)) for c, n in left.items()}
    for c, n in o.rented_in.items():
        left[c] = left.get(c, 0.0) + n
        cost[c] = cost.get(c, 0.0) + o.rented_cost_usd[c]
    unit = {c: cost[c] / left[c] for c in left if left[c] > 0}
    newest = sorted(unit, key=lambda c: (-model.chip(c).launch_year, c))
    _take(model, o, newest, left, unit, o.lab_serve_h100e - o.lite_serve_h100e)
    if o.lite is not None:
        o.lite.serving_chips, o.lite.serving_cost_usd = {}, 0.0
        _take(model, o.lite, newest[::-1], left, unit, o.lite_serve_h100e)
    o.lab_training_chips = {c: n for c in newest if (n := left[c]) > 0}


def _take(model: ComputeEconomy, line, order: list[str], left: dict[str, float], unit: dict[str, float],
          need: float) -> None:
    """`line` takes chips from `left` in `order` up to `need` H100e at `unit` USD a chip-month."""
    for c in order:
        k = min(left[c], max(need, 0.0) / model.h100e(c))
        if k > 0:
            line.serving_chips[c] = k
            line.serving_cost_usd += k * unit[c]
            left[c] -= k
            need -= k * model.h100e(c)
