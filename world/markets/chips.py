"""Chip market: export rules, pricing under backlog, allocation of scarce supply.

Pure functions over arrays; the vendors (agents/vendor.py) call them each month.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from world.markets import m_and_a

if TYPE_CHECKING:
    from agents.hyperscaler import Hyperscaler
    from agents.vendor import ChipVendor
    from world.model import ComputeEconomy


@dataclass
class ChipOrder:
    """An open order: units still to ship at the price quoted when it was placed."""

    buyer: Hyperscaler
    vendor: ChipVendor
    chip_id: str
    units: int
    price_usd: float
    priority: int
    step: int
    backed: bool = False  # bought for a cloud's offtake contract: financed at offtake_ltv


def export_allowed(export_class: str, buyer_region: str, restricted: tuple[str, ...]) -> bool:
    """Whether a buyer in `buyer_region` may take a chip of `export_class`.

    Args:
        export_class: the catalog's class: "unrestricted", "restricted-cn" or "domestic-cn".
        buyer_region: "us" (the rest of the world) or "cn".
        restricted: classes barred from CN buyers by the export controls now in force.

    Domestic Chinese chips are sold in CN only (assumption: Huawei and Cambricon supply
    their home market first and are themselves under US restrictions abroad).
    """
    if export_class == "domestic-cn":
        return buyer_region == "cn"
    if buyer_region == "cn":
        return export_class not in restricted
    return True


def allocate(capacity: float, qty: np.ndarray, priority: np.ndarray, order_step: np.ndarray,
             buyer_id: np.ndarray) -> np.ndarray:
    """Fill orders from scarce capacity: contracts first, then older orders, larger, lower id.

    Args:
        capacity: units available this month.
        qty: units ordered (still open) per order.
        priority: 1 for long-term supply contracts / large buyers, 0 otherwise.
        order_step: the month each order was placed (older first).
        buyer_id: tie-break of last resort (lower id first).

    Returns:
        units filled per order (same order as the inputs); the sum never exceeds capacity.
    """
    qty = np.asarray(qty, dtype=float)
    n = qty.size
    filled = np.zeros(n)
    if n == 0 or capacity <= 0:
        return filled
    # np.lexsort sorts by the last key first.
    order = np.lexsort((np.asarray(buyer_id), -qty, np.asarray(order_step), -np.asarray(priority)))
    before = np.cumsum(qty[order]) - qty[order]
    filled[order] = np.clip(capacity - before, 0.0, qty[order])
    return filled


def run(model: ComputeEconomy) -> None:
    """The month's chip market: capacity, orders, allocation, payment, deliveries."""
    for v in model.vendors:
        v.expand_capacity()
    for o in model.owners:
        if o.alive:
            o.plan_capex()
    still_open = []
    for v in model.vendors:
        book = [k for k in model.chip_orders if k.vendor is v]
        # orders a buyer can no longer take (dead, or barred by new export controls) lapse
        live = [k for k in book if k.buyer.alive and model.may_buy(k.chip_id, k.buyer.region)]
        live_ids = {id(k) for k in live}
        for k in book:
            if id(k) not in live_ids:
                _forget(model, k, k.units)
        if not live:
            v.backlog_h100e = 0.0
            continue
        h = np.array([model.h100e(k.chip_id) for k in live])
        qty = np.array([k.units for k in live], dtype=float) * h
        filled = allocate(v.capacity_h100e, qty,
                          np.array([k.priority for k in live]), np.array([k.step for k in live]),
                          np.array([k.buyer.unique_id for k in live]))
        for k, f, hk in zip(live, filled, h):
            units = int(f / hk + 1e-9)
            if units > 0:
                units = _pay_for(model, k, units)
            if units > 0:
                _forget(model, k, units)
                k.units -= units
                k.buyer.book_in_transit(k.chip_id, units)
                model.deliveries.append((model.t + model.p.vendors.lead_time_months, k.buyer, k.chip_id,
                                         units, units * k.price_usd))
            if k.units > 0 and model.t - k.step < 12:  # assumption: orders lapse after a year
                still_open.append(k)
            else:
                _forget(model, k, k.units)
        v.backlog_h100e = float(sum(k.units * model.h100e(k.chip_id) for k in still_open if k.vendor is v))
    model.chip_orders = still_open
    due = [d for d in model.deliveries if d[0] <= model.t]
    model.deliveries = [d for d in model.deliveries if d[0] > model.t]
    for _, buyer, chip_id, units, cost in due:
        buyer.book_in_transit(chip_id, -units)
        buyer.receive(chip_id, units, cost)
        if not buyer.alive:  # paid for before it failed
            m_and_a.sell_estate(model, buyer)


def _forget(model: ComputeEconomy, k: ChipOrder, units: int) -> None:
    """Units leave the buyer's on-order books (shipped, lapsed or barred), and an offtake
    order's promised equity with them (paid at shipment, or no longer owed)."""
    k.buyer.on_order_h100e = max(k.buyer.on_order_h100e - units * model.h100e(k.chip_id), 0.0)
    if k.backed:
        promised = k.buyer.offtake_equity_usd(units, k.price_usd)
        k.buyer.offtake_promised_usd = max(k.buyer.offtake_promised_usd - promised, 0.0)
    mw = units * model.chip_mw(k.chip_id)
    name = k.vendor.name
    k.buyer.on_order_mw[name] = max(k.buyer.on_order_mw.get(name, 0.0) - mw, 0.0)


def _pay_for(model: ComputeEconomy, k, units: int) -> int:
    """Buyer pays at shipment (neoclouds borrow their LTV share, more on chips a cloud's
    contract pays for, and keep their debt-service reserve); returns units paid for."""
    hp = model.p.hyperscalers
    buyer = k.buyer
    ltv = hp.offtake_ltv if k.backed else hp.neocloud_ltv
    units = buyer.chips_affordable(units, k.price_usd, ltv)
    if units <= 0:
        return 0
    cost = units * k.price_usd
    if buyer.variant == "neocloud":
        buyer.borrow(cost * ltv, "contract-backed" if k.backed else "GPU-backed")
    model.ledger.transfer(buyer.unique_id, k.vendor.unique_id, cost, "chip_purchase")
    model.ledger.transfer(k.vendor.unique_id, "fabs", cost * model.p.vendors.unit_cost_share, "chip_cogs")
    model.network.add_flow(buyer.unique_id, k.vendor.unique_id, "chips", cost, model.t)
    buyer.capex_usd += cost
    k.vendor.revenue_usd += cost
    return units
