"""What every token provider (startup or hyperscaler lab) knows and decides about pricing."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from world.model import ComputeEconomy

# assumption: quality caps of smaller tiers, in log10 training FLOPs, rising with
# algorithmic progress (log10(3) = 0.48 a year, the Epoch ~3x/yr effective-compute trend).
TIER_CAP_2023 = {"small": 24.4, "mid": 25.1, "large": 40.0}


class Provider:
    """Mixin: a serving deployment, capability from training, a posted price.

    Attributes set here are read by the token market (world/model.py) each month.
    """

    model: ComputeEconomy
    region: str

    def init_provider(self, quality: float, tier: str, markup: float) -> None:
        self.quality = quality
        self.tier = tier
        self.markup = markup
        self.train_flops = 10 ** quality  # effective cumulative training FLOPs
        self.model_id = self.model.best_architecture(tier, moe=False)
        self.serving_chips: dict[str, float] = {}  # chip class -> chip-months this month
        self.serving_cost_usd = 0.0
        self.capacity_mtok = 0.0
        self.latency_ms = 100.0
        self.price_usd_per_mtok = self.model.p.demand.reference_price_usd_per_mtok
        self.served_mtok = 0.0
        self.rationed_mtok = 0.0
        self.token_revenue_usd = 0.0
        self.adopted_moe_step: int | None = None

    def quality_cap(self) -> float:
        return TIER_CAP_2023[self.tier] + 0.477 * self.model.years

    def train(self, chip_months: dict[str, float]) -> None:
        """Training compute raises capability: quality = log10 of effective cumulative FLOPs."""
        flops = sum(n * self.model.training_flops(c) for c, n in chip_months.items())
        self.train_flops += flops * self.model.algorithmic_efficiency
        self.quality = min(math.log10(max(self.train_flops, 1.0)), self.quality_cap())

    def adopt_architecture(self, eager: bool) -> None:
        """Switch to the cheapest-to-serve architecture of the tier once available (MoE).

        Args:
            eager: efficiency-first firms adopt at once; others after the adoption lag.
        """
        sp = self.model.p.startups
        if not sp.efficient_adoption:
            return
        lag = 0 if eager else sp.adoption_lag_months
        best = self.model.best_architecture(self.tier, moe=True, min_age_months=lag)
        if best != self.model_id:
            self.model_id = best
            self.adopted_moe_step = self.model.steps
            self.model.log_event("architecture_adopted", self, None, 0.0, best)

    def set_capacity(self) -> None:
        """Capacity and latency of this month's serving chips, from the hardware model."""
        util = self.model.p.markets.serving_utilisation
        cap = lat = 0.0
        for c, n in self.serving_chips.items():
            d = self.model.deployment(self.model_id, c)
            cap += n * d.mtok_per_chip_month * util
            lat += n * d.tpot_ms * (d.mtok_per_chip_month > 0)
        self.capacity_mtok = cap
        tot = sum(self.serving_chips.values())
        self.latency_ms = lat / tot if tot > 0 and math.isfinite(lat) else 100.0

    def unit_cost(self) -> float:
        """USD per Mtok of this month's serving compute (at full use of the capacity)."""
        if self.capacity_mtok <= 0:
            return math.nan
        return self.serving_cost_usd / self.capacity_mtok

    def plan_pricing(self, subsidy: float) -> None:
        """Cost-plus with a markup; below cost while investors pay (penetration pricing);
        up when last month's demand was rationed (purchase limits bind).

        Args:
            subsidy: fraction of unit cost given away (0 = none).
        """
        cost = self.unit_cost()
        if not math.isfinite(cost) or cost <= 0:
            return  # no capacity this month: keep the posted price
        target = cost * (1 + self.markup) * (1 - subsidy)
        if self.rationed_mtok > 0.05 * max(self.served_mtok, 1e-9):
            target = max(target, self.price_usd_per_mtok * (1 + self.model.p.startups.price_up_when_short))
        step = self.model.p.startups.max_price_change_per_month  # list prices are sticky
        lo, hi = self.price_usd_per_mtok * (1 - step), self.price_usd_per_mtok * (1 + step)
        self.price_usd_per_mtok = float(min(max(target, lo), hi))
