"""Chip vendors: products from the catalog, capacity with a lagged expansion, backlog pricing."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from world.model import ComputeEconomy


class ChipVendor(mesa.Agent):
    """Sells the catalog's chips of one vendor once launched; capacity in H100-equivalents.

    Args:
        model: the economy.
        name: vendor name as in the catalog (NVIDIA, AMD, Huawei, Cambricon).
        products: catalog chip ids of this vendor.
        capacity_h100e: monthly output, in H100-equivalents.
    """

    kind = "vendor"

    def __init__(self, model: ComputeEconomy, name: str, products: list[str], capacity_h100e: float) -> None:
        super().__init__(model)
        self.name = name
        self.products = products
        self.capacity_h100e = capacity_h100e
        self.expansions: list[tuple[int, float]] = []  # (step ready, added H100e per month)
        self.alive = True
        self.revenue_usd = 0.0
        self.month_revenue_usd = 0.0
        self.backlog_h100e = 0.0

    def on_sale(self, year: int) -> list[str]:
        """Products launched by `year` within four years of the vendor's newest one
        (assumption: a data-centre part is made for about four years), newest first."""
        launched = [c for c in self.products if self.model.chip(c).launch_year <= year]
        if not launched:
            return []
        newest = max(self.model.chip(c).launch_year for c in launched)
        live = [c for c in launched if self.model.chip(c).launch_year >= newest - 3]
        live.sort(key=lambda c: (-self.model.chip(c).launch_year, c))
        return live

    def wait_months(self) -> float:
        """Expected wait for a new order: backlog over monthly output."""
        return self.backlog_h100e / max(self.capacity_h100e, 1.0)

    def quote(self, chip_id: str) -> float:
        """Unit price now: list price, minus 15%/yr once two years old, plus a backlog premium."""
        chip = self.model.chip(chip_id)
        age = max(0.0, self.model.year_frac - chip.launch_year - 2)
        base = chip.price_usd * 0.85 ** age  # assumption: older parts discounted 15%/yr
        ratio = min(self.backlog_h100e / max(self.capacity_h100e, 1.0), 4.0)
        return base * (1.0 + self.model.p.vendors.backlog_price_elasticity * ratio)

    def expand_capacity(self) -> None:
        """Invest when the backlog exceeds a month of output; the new lines arrive after a lag."""
        vp = self.model.p.vendors
        ready = [e for e in self.expansions if e[0] <= self.model.steps]
        self.expansions = [e for e in self.expansions if e[0] > self.model.steps]
        for _, add in ready:
            self.capacity_h100e += add
        pressure = self.backlog_h100e / max(self.capacity_h100e, 1.0)
        if pressure > 1.0:
            add = self.capacity_h100e * vp.capacity_growth_per_year / 12
            cost = add * 12 * 2000.0  # assumption: ~$2k of fab/packaging capex per H100e-per-year of output
            self.model.ledger.transfer(self.unique_id, "fabs", min(cost, max(self.model.ledger.usd(self.unique_id), 0.0)),
                                       "vendor_capex")
            self.expansions.append((self.model.steps + vp.expansion_lag_months, add))

    def settle(self) -> None:
        """Operating costs (R&D, staff) at 10% of this month's revenue (assumption)."""
        self.model.ledger.transfer(self.unique_id, "staff", 0.1 * self.revenue_usd, "vendor_opex")
        self.month_revenue_usd = self.revenue_usd
        self.revenue_usd = 0.0
