"""Exits: who acquires a distressed firm, and who buys GPUs in a fire sale."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from world.model import ComputeEconomy


def choose_acquirer(bids_usd: np.ndarray, ids: np.ndarray, reserve_usd: float) -> int:
    """Index of the highest bid at or above the reserve (lower id on ties), or -1."""
    bids = np.asarray(bids_usd, float)
    ok = bids >= reserve_usd
    if not ok.any():
        return -1
    order = np.lexsort((np.asarray(ids), -bids))
    return int(next(k for k in order if ok[k]))


def fire_sale(units: int, bid_price: np.ndarray, bid_units: np.ndarray, ids: np.ndarray,
              floor_price: float) -> np.ndarray:
    """Allocate `units` distressed chips to the highest bids at or above the floor price.

    Returns units bought per bidder (input order); the rest stays unsold (scrapped).
    """
    price, want = np.asarray(bid_price, float), np.asarray(bid_units, float)
    got = np.zeros(price.size, dtype=np.int64)
    left = int(units)
    for k in np.lexsort((np.asarray(ids), -price)):
        if left <= 0 or price[k] < floor_price:
            break
        got[k] = min(int(want[k]), left)
        left -= got[k]
    return got


def run_exits(model: ComputeEconomy) -> None:
    """Insolvent startups are acquired if a buyer bids, else go bankrupt; insolvent
    neoclouds go bankrupt and their whole fleet is fire-sold."""
    for s in model.startups:
        if s.alive and s.insolvent() and not _try_acquisition(model, s):
            _bankrupt(model, s, "bankruptcy")
    for o in model.owners:
        if o.alive and o.insolvent():
            run_fire_sale(model, o, share=1.0)
            _bankrupt(model, o, "bankruptcy")


def _try_acquisition(model: ComputeEconomy, s) -> bool:
    """Acqui-hire (F28-F31): hyperscalers and rich startups of the region bid for the team
    and capability; the highest bid at or above the unpaid bills wins."""
    sp = model.p.startups
    rng = model.streams["exits"]
    cands = [o for o in model.owners if o.alive and o.has_lab and o.region == s.region]
    cands += [b for b in model.startups if b.alive and b is not s and b.region == s.region
              and b.strategy != "wrapper" and model.ledger.usd(b.unique_id) > 20 * s.staff_usd]
    if not cands or rng.random() >= sp.acquisition_appetite:
        return False  # nobody is shopping this month: the firm fails
    bids = []
    for b in cands:
        edge = max(s.quality - b.quality + 0.5, 0.0)
        value = s.staff_usd * 12 * (0.5 + edge) + 0.5 * s.arr_usd()
        cash = model.ledger.usd(b.unique_id)
        bids.append(min(value, 0.25 * max(cash, 0.0)))
    debts = max(-model.ledger.usd(s.unique_id), 0.0)
    k = choose_acquirer(np.array(bids), np.array([b.unique_id for b in cands]), max(debts, 1.0))
    if k < 0:
        return False
    buyer, price = cands[k], bids[k]
    model.ledger.transfer(buyer.unique_id, s.unique_id, price, "acquisition")
    _distribute(model, s)
    buyer.quality = max(buyer.quality, s.quality)
    buyer.train_flops = max(buyer.train_flops, s.train_flops)
    model.network.add_flow(buyer.unique_id, s.unique_id, "acquisition", price, model.t)
    model.log_event("acquisition", s, buyer, price, f"{s.strategy} q={s.quality:.2f}")
    _close(model, s, "acquired")
    model.cum["acquisitions"] += 1
    return True


def _distribute(model: ComputeEconomy, s) -> None:
    """What is left of a firm's cash goes to its investors by stake, the rest to founders."""
    cash = model.ledger.usd(s.unique_id)
    if cash <= 0:
        return
    for inv_id in sorted(s.stakes):
        inv = next(i for i in model.investors if i.unique_id == inv_id)
        payee = inv.parent if inv.kind == "corporate" else inv
        model.ledger.transfer(s.unique_id, payee.unique_id, cash * s.stakes[inv_id], "exit_proceeds")
    model.ledger.transfer(s.unique_id, "founders", max(model.ledger.usd(s.unique_id), 0.0), "exit_proceeds")


def _bankrupt(model: ComputeEconomy, a, kind: str) -> None:
    """Unpaid bills are written off by creditors; any cash left goes to the owners."""
    cash = model.ledger.usd(a.unique_id)
    if cash < 0:
        model.ledger.transfer("creditors", a.unique_id, -cash, "write_off")
    elif getattr(a, "stakes", None):
        _distribute(model, a)
    else:
        model.ledger.transfer(a.unique_id, "creditors", cash, "liquidation")
    model.log_event(kind, a, None, -min(cash, 0.0), a.kind)
    _close(model, a, "bankrupt")
    model.cum["bankruptcies"] += 1


def _close(model: ComputeEconomy, a, how: str) -> None:
    a.alive = False
    a.exit_kind = how
    a.exit_step = model.t
    if hasattr(a, "loans"):
        a.loans = []  # written off with the firm
    keep = [k for k in model.contracts if k.renter is not a and k.owner is not a]
    if len(keep) < len(model.contracts):  # the books are unchanged when it held no contract
        model.rebuild_contract_books(keep)


def sell_estate(model: ComputeEconomy, owner) -> None:
    """A failed owner's chips that landed after it failed (paid for at shipment) are
    fire-sold by its estate, and what they fetch goes to its creditors."""
    run_fire_sale(model, owner, share=1.0)
    model.ledger.transfer(owner.unique_id, "creditors", max(model.ledger.usd(owner.unique_id), 0.0), "liquidation")


def run_fire_sale(model: ComputeEconomy, seller, share: float) -> float:
    """Sell `share` of a distressed owner's chips; proceeds repay its debt first."""
    mp = model.p.markets
    buyers = [o for o in model.owners if o.alive and o is not seller and o.region == seller.region
              and o.variant != "state"]
    proceeds = 0.0
    for c in sorted({**seller.fleet, **seller.unpowered}):
        have = seller.fleet.get(c, 0) + seller.unpowered.get(c, 0)
        units = int(have * share) if share < 1 else have
        if units <= 0:
            continue
        book_each = seller.book_usd.get(c, 0.0) / max(have, 1)
        price = mp.fire_sale_discount * book_each
        mw_each = model.chip_mw(c)
        want = np.array([max(b.power_mw - b.mw_needed(b.fleet) - b.mw_needed(b.unpowered), 0.0) / mw_each for b in buyers])
        cash_units = np.array([max(model.ledger.usd(b.unique_id), 0.0) / max(price, 1.0) for b in buyers])
        got = fire_sale(units, np.full(len(buyers), price), np.minimum(want, cash_units),
                        np.array([b.unique_id for b in buyers]), 0.0)
        seller.remove(c, units)
        for b, g in zip(buyers, got):
            if g > 0:
                pay = int(g) * price
                model.ledger.transfer(b.unique_id, seller.unique_id, pay, "fire_sale")
                b.receive(c, int(g), pay)
                proceeds += pay
        model.log_event("fire_sale", seller, None, units * price, f"{units} x {c}, {int(got.sum())} sold")
    if seller.debt_usd > 0 and proceeds > 0:
        repay = min(proceeds, seller.debt_usd, max(model.ledger.usd(seller.unique_id), 0.0))
        model.ledger.transfer(seller.unique_id, "lenders", repay, "debt_repayment")
        seller.prepay(repay)
    return proceeds
