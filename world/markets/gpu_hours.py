"""GPU-hour market: a uniform-price call auction per (region, chip class), once a month.

Quantities are chip-months (730 GPU-hours each); prices are USD per chip-month.
Owners ask at least their reservation price (power plus a depreciation floor); renters
bid what their token margins allow. Ties break on agent id, lower first (ABIDES style).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from agents.hyperscaler import annuity

if TYPE_CHECKING:
    from agents.hyperscaler import Hyperscaler
    from agents.startup import Startup
    from world.model import ComputeEconomy

HOURS_PER_MONTH = 730.0
# "H100-class" for the headline rental price: classes worth at least 0.9 H100e (H100, H800,
# H200, B200, GB200/300, MI300X/325X), priced per H100e-hour.
HIGH_END_H100E = 0.9
# A training budget is bid as a demand curve: equal money at these fractions of the rent
# cap (buy-instead price), so spending stays within budget and the price clears where
# budgets meet supply in one month, with no anchoring on last month's price (no cobweb).
TRAINING_TRANCHES = (0.04, 0.06, 0.09, 0.13, 0.2, 0.3, 0.45, 0.7, 1.0)


@dataclass
class Contract:
    """Reserved GPU capacity: `chips` of a class per month at a fixed price until `end`.

    A cloud's offtake contract with a neocloud (`offtake`) is take-or-pay on the chips
    the neocloud has: it pays for what is there, its lab serves and trains on them.
    """

    owner: Hyperscaler
    renter: Startup | Hyperscaler
    chip_id: str
    chips: float
    price_usd: float  # per chip-month
    end: int
    circular: bool
    offtake: bool = False
    start: int = 0  # first month served (an offtake waits for the chips bought for it)

    def live(self, t: int) -> bool:
        """Not yet expired in month `t` (`end` is the first month after the term) and both
        sides still in business."""
        return t < self.end and self.owner.alive and self.renter.alive


@dataclass(frozen=True)
class Clearing:
    """Result of one call auction."""

    price: float  # USD per chip-month; the best ask (or bid) when nothing traded, nan if empty
    volume: float  # chip-months traded
    bid_fill: np.ndarray  # per bid, in input order
    ask_fill: np.ndarray  # per ask, in input order
    unmet_bid: float  # quantity bid at or above the price but not filled (all bids if no trade)


def clear(bid_qty: np.ndarray, bid_price: np.ndarray, bid_id: np.ndarray,
          ask_qty: np.ndarray, ask_price: np.ndarray, ask_id: np.ndarray) -> Clearing:
    """Match bids and asks; price in the middle of the clearing interval.

    Bids are served from the highest price down, asks from the lowest up. The uniform
    price is the midpoint of [max(last ask, next bid), min(last bid, next ask)]: under
    shortage the marginal bid sets it, under glut the marginal ask.
    """
    bq, bp = np.asarray(bid_qty, float), np.asarray(bid_price, float)
    aq, ap = np.asarray(ask_qty, float), np.asarray(ask_price, float)
    bid_fill, ask_fill = np.zeros(bq.size), np.zeros(aq.size)
    if bq.size == 0 or aq.size == 0:
        price = float(ap.min()) if aq.size else float(bp.max()) if bq.size else np.nan
        return Clearing(price, 0.0, bid_fill, ask_fill, float(bq.sum()))
    bo = np.lexsort((np.asarray(bid_id), -bp))
    ao = np.lexsort((np.asarray(ask_id), ap))
    sbq, sbp, saq, sap = bq[bo], bp[bo], aq[ao], ap[ao]
    cb, ca = np.cumsum(sbq), np.cumsum(saq)
    # both schedules as step functions of quantity; segment k ends at bounds[k]
    bounds = np.unique(np.concatenate([cb, ca]))
    bounds = bounds[bounds <= min(cb[-1], ca[-1])]
    bi = np.minimum(np.searchsorted(cb, bounds, side="left"), sbq.size - 1)
    ai = np.minimum(np.searchsorted(ca, bounds, side="left"), saq.size - 1)
    ok = sbp[bi] >= sap[ai]  # True then False: bids fall and asks rise with quantity
    n = int(np.argmin(ok)) if not ok.all() else ok.size
    if n == 0:
        return Clearing(float(sap[0]), 0.0, bid_fill, ask_fill, float(bq.sum()))
    volume = float(bounds[n - 1])
    bid_fill[bo] = np.clip(volume - (cb - sbq), 0.0, sbq)
    ask_fill[ao] = np.clip(volume - (ca - saq), 0.0, saq)
    last_b, last_a = sbp[bi[n - 1]], sap[ai[n - 1]]
    jb = np.searchsorted(cb, volume * (1 + 1e-12), side="right")
    ja = np.searchsorted(ca, volume * (1 + 1e-12), side="right")
    next_b = sbp[jb] if jb < sbq.size else -np.inf
    next_a = sap[ja] if ja < saq.size else np.inf
    lo, hi = max(last_a, next_b), min(last_b, next_a)
    price = float(0.5 * (lo + hi))
    # unmet demand: bids willing to pay the clearing price that were not (fully) served
    willing = float(sbq[sbp >= price].sum())
    return Clearing(price, volume, bid_fill, ask_fill, max(willing - volume, 0.0))


def reservation_price(power_usd_per_month: float, depreciation_usd_per_month: float, floor_share: float) -> float:
    """An owner's ask per chip-month: power plus a share of depreciation (sunk under distress)."""
    return power_usd_per_month + floor_share * depreciation_usd_per_month


def run(model: ComputeEconomy) -> None:
    """The month's GPU-hour market.

    1. owners set aside chips for their own lab (internal priority under scarcity);
    2. long-term contracts are served at their locked price;
    3. renters bid for serving and training chip-months in the class that is cheapest for
       them; owners ask for their spare chips; each (region, class) clears on its own.
    """
    prio = model.p.hyperscalers.internal_priority
    owners = [o for o in model.owners if o.alive]
    for o in owners:
        if o.has_lab:  # with or without priority: contracts and capex read the lab's need
            o.internal_need_h100e = o.lab_need_h100e()
        o.internal_use = o.plan_internal_use() if prio else {}
        o.sold_chip_months = 0.0
        o.sold_h100e_months = 0.0
        o.offered_chip_months = 0.0
        o.rental_revenue_usd = 0.0
        o.rented_in, o.rented_cost_usd = {}, {}
    renters = [s for s in model.startups if s.alive]
    for s in renters:
        s.serving_chips, s.training_chips, s.spend_usd, s.serving_cost_usd = {}, {}, 0.0, 0.0
    drop_expired(model)
    _sign_contracts(model, renters, owners)
    _sign_offtake(model, owners)
    _serve_contracts(model)

    asks: dict[tuple[str, str], list[tuple[float, float, int, object]]] = {}
    for o in owners:
        for c in sorted(o.fleet):
            q = o.spare(c)
            if q > 1e-9:
                asks.setdefault((o.region, c), []).append((q, o.reservation_usd(c), o.unique_id, o))
                o.offered_chip_months += q
    offer = {key: (sum(x[0] for x in a), min(x[1] for x in a)) for key, a in asks.items()}
    bids: dict[tuple[str, str], list[tuple[float, float, int, object, str]]] = {}
    for s in renters:
        _renter_bids(model, s, bids, offer)
    if not prio:
        for o in owners:
            if o.has_lab:
                c = _cheapest_class(model, o.region, per="h100e", offer=offer)
                if c is not None:
                    price = rent_cap(model, c)
                    bids.setdefault((o.region, c), []).append(
                        (o.internal_need_h100e / model.h100e(c), price, 16 * o.unique_id, o, "lab"))
    vol_h, spend_h = {"us": 0.0, "cn": 0.0}, {"us": 0.0, "cn": 0.0}
    unmet_h = {"us": 0.0, "cn": 0.0}
    hi_vol, hi_spend = {"us": 0.0, "cn": 0.0}, {"us": 0.0, "cn": 0.0}
    for key in sorted({**bids, **asks}):
        region, c = key
        b, a = bids.get(key, []), asks.get(key, [])
        res = clear(np.array([x[0] for x in b]), np.array([x[1] for x in b]), np.array([x[2] for x in b]),
                    np.array([x[0] for x in a]), np.array([x[1] for x in a]), np.array([x[2] for x in a]))
        if not np.isnan(res.price):
            model.gpu_price[key] = res.price
        unmet_h[region] += res.unmet_bid * model.h100e(c)
        for (q, _, _, owner), f in zip(a, res.ask_fill):
            if f > 0:
                owner.sold_chip_months += f
                owner.sold_h100e_months += f * model.h100e(c)
                owner.rental_revenue_usd += f * res.price
        for (q, _, _, who, purpose), f in zip(b, res.bid_fill):
            if f <= 0:
                continue
            if purpose == "lab":
                who.internal_use[c] = who.internal_use.get(c, 0.0) + f
                continue
            pool = who.serving_chips if purpose == "serve" else who.training_chips
            pool[c] = pool.get(c, 0.0) + f
            who.spend_usd += f * res.price
            if purpose == "serve":
                who.serving_cost_usd += f * res.price
        _pay_spot(model, a, b, res, c)
        vol_h[region] += res.volume * model.h100e(c)
        spend_h[region] += res.volume * res.price
        if model.h100e(c) >= HIGH_END_H100E:
            hi_vol[region] += res.volume * model.h100e(c)
            hi_spend[region] += res.volume * res.price
    for region in ("us", "cn"):
        if vol_h[region] > 0:
            idx = spend_h[region] / vol_h[region]
            model.month[f"gpu_price_h100e_{region}"] = idx
        if hi_vol[region] > 0:
            model.month[f"gpu_price_hi_{region}"] = hi_spend[region] / hi_vol[region]
        model.month[f"gpu_unmet_h100e_{region}"] = unmet_h[region]
        model.month[f"gpu_volume_h100e_{region}"] = vol_h[region]
    _record_owner_demand(model, owners, unmet_h)


def rent_cap(model: ComputeEconomy, c: str) -> float:
    """The most anyone pays per chip-month: buying the chip instead pays back in N months
    (cached for the month: vendor quotes do not move while the GPU-hour market clears)."""
    cap = model.rent_caps.get(c)
    if cap is None:
        vendor = next((v for v in model.vendors if c in v.products), None)
        price = vendor.quote(c) if vendor is not None else model.chip(c).price_usd
        cap = model.rent_caps[c] = price / model.p.markets.max_rent_payback_months
    return cap


def _ask_guess(model: ComputeEconomy, region: str, c: str) -> float:
    return model.power_cost_chip_month(c, region) + model.chip(c).price_usd / 60.0


def _cheapest_class(model: ComputeEconomy, region: str, per: str, model_id: str | None = None,
                    offer: dict | None = None) -> str | None:
    """Class with the lowest expected price per H100e (training) or per Mtok (serving).

    With `offer` (this month's asks: volume and lowest ask per class), only classes on
    offer count and the expected price is max(last price, lowest ask); without it, every
    class owned in the region counts at its last price.
    """
    best, best_cost = None, np.inf
    if offer is not None:
        classes = sorted(c for r, c in offer if r == region)
    else:
        classes = model.owned_classes(region)
    for c in classes:
        if offer is not None:
            price = offer[(region, c)][1]  # the lowest ask: stable, cost-based
        else:
            price = model.gpu_price.get((region, c), _ask_guess(model, region, c))
        unit = model.h100e(c) if per == "h100e" else model.deployment(model_id, c).mtok_per_chip_month
        if unit <= 0:
            continue
        cost = price / unit
        if cost < best_cost:
            best, best_cost = c, cost
    return best


def _renter_bids(model: ComputeEconomy, s, bids: dict, offer: dict) -> None:
    """A startup's bids: serving chips in its cheapest class per Mtok, training per H100e."""
    c = _cheapest_class(model, s.region, per="mtok", model_id=s.model_id, offer=offer)
    if c is not None:
        need = s.serving_need_chips(c) - s.serving_chips.get(c, 0.0)
        if need > 1e-6:
            bid = min(s.serving_bid_usd(c), rent_cap(model, c))
            bids.setdefault((s.region, c), []).append((need, bid, 16 * s.unique_id, s, "serve"))
    budget = s.training_budget_usd()
    if budget > 0:
        # the budget is spread over the classes on offer by their H100e volume, so renters
        # do not all chase the class that was cheapest last month (no herd oscillation)
        classes = [(c, q * model.h100e(c)) for (r, c), (q, _) in sorted(offer.items()) if r == s.region]
        tot = sum(v for _, v in classes)
        for c, vol in classes:
            cap = rent_cap(model, c)
            share = budget * vol / tot
            for k, frac in enumerate(TRAINING_TRANCHES):
                p = cap * frac
                bids.setdefault((s.region, c), []).append(
                    (share / len(TRAINING_TRANCHES) / p, p, 16 * s.unique_id + 1 + k, s, "train"))


def drop_expired(model: ComputeEconomy) -> None:
    """Drop contracts that have ended or lost a side, and book those starting this month.

    It runs before the month's signing, so signing sees this month's books: the chips of a
    contract that ended are free again and an offtake starting now holds its chips.
    """
    model.rebuild_contract_books([k for k in model.contracts if k.live(model.t)])


def _serve_contracts(model: ComputeEconomy) -> None:
    """Reserved capacity first, at the locked price (every contract is live this month:
    `drop_expired` ran before the signing)."""
    served: dict[tuple[int, str], float] = {}  # chips already given to earlier contracts
    for k in model.contracts:
        if model.t < k.start:
            continue
        key = (k.owner.unique_id, k.chip_id)
        have = max(k.owner.fleet.get(k.chip_id, 0) - k.owner.internal_use.get(k.chip_id, 0.0) - served.get(key, 0.0), 0.0)
        q = min(k.chips, have)
        if q <= 0:
            continue
        served[key] = served.get(key, 0.0) + q
        pay = q * k.price_usd
        model.ledger.transfer(k.renter.unique_id, k.owner.unique_id, pay, "gpu_contract")
        model.network.add_flow(k.renter.unique_id, k.owner.unique_id, "compute", pay, model.t)
        k.owner.sold_chip_months += q
        k.owner.sold_h100e_months += q * model.h100e(k.chip_id)
        k.owner.offered_chip_months += q
        k.owner.rental_revenue_usd += pay
        if k.offtake:
            k.renter.rented_in[k.chip_id] = k.renter.rented_in.get(k.chip_id, 0.0) + q
            k.renter.rented_cost_usd[k.chip_id] = k.renter.rented_cost_usd.get(k.chip_id, 0.0) + pay
            continue
        k.renter.serving_chips[k.chip_id] = k.renter.serving_chips.get(k.chip_id, 0.0) + q
        k.renter.serving_cost_usd += pay
        k.renter.spend_usd += pay


def _sign_contracts(model: ComputeEconomy, renters: list, owners: list) -> None:
    """Startups lock part of their serving needs for contract_months at a discount to spot,
    with the owner that has most spare chips of the class (lower id on ties)."""
    mp = model.p.markets
    spare: dict[tuple[str, str], list[list]] = {}  # (region, class) -> [[spare, owner], ...]
    for o in owners:
        for c in sorted(o.fleet):
            q = o.spare(c)
            if q >= 1.0:
                spare.setdefault((o.region, c), []).append([q, o])
    for s in renters:
        c = _cheapest_class(model, s.region, per="mtok", model_id=s.model_id)
        pool = spare.get((s.region, c))
        if not pool:
            continue
        have = model.renter_book.get((s.unique_id, c), 0.0)
        need = s.serving_need_chips(c)
        gap = mp.contract_share * need - have
        if gap < max(100.0, 0.25 * mp.contract_share * need):
            continue  # top up only by meaningful blocks (assumption: >= 100 chips or a quarter of the need)
        best = max(pool, key=lambda e: (e[0], -e[1].unique_id))
        o = best[1]
        spot = model.gpu_price.get((s.region, c), _ask_guess(model, s.region, c))
        price = max(spot * (1 - mp.contract_discount), o.reservation_usd(c))
        if price > min(s.serving_bid_usd(c), rent_cap(model, c)):
            continue
        q = min(gap, best[0])
        if q <= 1e-9:
            continue  # the owner's spare chips went to earlier contracts this month
        best[0] -= q
        model.add_contract(Contract(o, s, c, q, price, model.t + mp.contract_months, False))
        model.log_event("compute_contract", s, o, q * price * mp.contract_months,
                        f"{q:.0f} x {c} for {mp.contract_months} months")


def _sign_offtake(model: ComputeEconomy, owners: list) -> None:
    """Big clouds whose labs need more than their own chips book part of the shortfall
    with a neocloud of their region for `offtake_months` (Microsoft renting CoreWeave, F41).

    The neocloud (the one with most free equity, lower id on ties) orders the region's best
    chip for it, paying `1 - offtake_ltv` from equity and borrowing the rest against the
    contract at shipment; it builds the shell as it builds any other (`1 - neocloud_ltv`
    from equity), so a contract is signed only for what its equity covers of both. The term
    runs from the month the first chips can land (next month's shipment plus the lead
    time); from then on the neocloud's chips of the class serve it first, and the cloud
    pays for those that are there. The rent pays the chip and its shell back over the term
    at the neocloud's cost of debt, plus power (the chips do not exist yet: there is no spot
    price to read); a cloud pays no more than `rent_cap`.
    """
    hp = model.p.hyperscalers
    if not hp.cloud_offtake:
        return
    booked: dict[int, float] = {}
    for k in model.contracts:
        if k.offtake:  # live ones only: `drop_expired` ran first
            booked[k.renter.unique_id] = booked.get(k.renter.unique_id, 0.0) + k.chips * model.h100e(k.chip_id)
    neos_in = {r: [o for o in owners if o.variant == "neocloud" and o.region == r] for r in ("us", "cn")}
    for cloud in owners:
        if cloud.variant != "hyperscaler" or not cloud.has_lab:
            continue
        own = model.h100e_of(cloud.internal_use)
        short = cloud.internal_need_h100e - own - booked.get(cloud.unique_id, 0.0)
        neos = neos_in[cloud.region]
        if short <= 0 or not neos:
            continue
        free = {o.unique_id: o.free_equity_usd() for o in neos}
        neo = max(neos, key=lambda o: (free[o.unique_id], -o.unique_id))
        chip_id, price = model.best_chip_offer(cloud.region)
        if chip_id is None:
            continue
        shell = neo.building_usd_per_chip(chip_id)
        per_chip = price + shell
        equity = neo.offtake_equity_usd(1, price) + shell * (1 - hp.neocloud_ltv)
        units = int(min(hp.offtake_share * short / model.h100e(chip_id), free[neo.unique_id] / max(equity, 1e-9)))
        if units < 1:
            continue
        r = (model.rate + hp.debt_rate_spread) / 12
        n = hp.offtake_months
        rent = model.power_cost_chip_month(chip_id, cloud.region) + per_chip * annuity(r, n)
        if rent > rent_cap(model, chip_id):
            continue
        start = model.t + 1 + model.p.vendors.lead_time_months  # the first chips can land then
        neo.place_order(chip_id, units, price, priority=1, backed=True)
        model.add_contract(Contract(neo, cloud, chip_id, units, rent, start + hp.offtake_months, False, True, start))
        booked[cloud.unique_id] = booked.get(cloud.unique_id, 0.0) + units * model.h100e(chip_id)
        model.log_event("compute_contract", cloud, neo, units * rent * hp.offtake_months,
                        f"{units} x {chip_id} for {hp.offtake_months} months (offtake)")


def _pay_spot(model: ComputeEconomy, asks: list, bids: list, res: Clearing, c: str) -> None:
    """Money follows the fills through the exchange: each renter pays its bill in, each
    seller is paid its proceeds out. Spot trades are anonymous, so the deal graph records
    compute flows only for contracts (where circular deals live)."""
    if res.volume <= 0:
        return
    led = model.ledger
    bills: dict[int, tuple[object, float]] = {}
    for (_, _, _, who, _), f in zip(bids, res.bid_fill):
        if f > 0:
            prev = bills.get(who.unique_id, (who, 0.0))[1]
            bills[who.unique_id] = (who, prev + f * res.price)
    for who, bill in bills.values():
        led.transfer(who.unique_id, "gpu_exchange", bill, "gpu_spot")
    for (_, _, _, owner), f in zip(asks, res.ask_fill):
        if f > 0:
            led.transfer("gpu_exchange", owner.unique_id, f * res.price, "gpu_spot")


def _record_owner_demand(model: ComputeEconomy, owners: list, unmet_h: dict) -> None:
    """Each owner's demand signal for capex: its lab's need net of the offtake capacity it
    rents in (the neocloud builds for that) + chips rented out + its share of unmet bids."""
    tot = {r: sum(o.compute_h100e() for o in owners if o.region == r) for r in ("us", "cn")}
    for o in owners:
        used = 0.0
        if o.has_lab:
            used = max(o.internal_need_h100e - model.h100e_of(o.rented_in), 0.0)
        sold = o.sold_h100e_months
        share = o.compute_h100e() / tot[o.region] if tot[o.region] > 0 else 0.0
        o.demand_history.append(used + sold + share * unmet_h[o.region])
