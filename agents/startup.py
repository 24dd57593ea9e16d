"""Model startups: frontier, efficiency-first, vertical and wrapper strategies."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa

from agents.provider import Provider

if TYPE_CHECKING:
    from world.model import ComputeEconomy

# strategy -> (serving tier, markup over cost, staff share of the burn plan, training share
#              of the burn plan, quality at entry in log10 FLOPs, cash multiple at entry).
# Assumptions; F21 (OpenAI 2024: training ~3bn, staff ~1.5bn of ~9bn costs) anchors the
# frontier split. Frontier labs train big and price high; efficiency-first firms serve MoE
# cheaply; verticals win a segment with a bonus; wrappers train nothing.
STRATEGIES = {
    "frontier": ("large", 0.6, 0.2, 0.6, 25.0, None),
    "efficiency": ("large", 0.2, 0.3, 0.45, 24.4, 1.0),
    "vertical": ("mid", 0.8, 0.45, 0.25, 24.4, 0.5),
    "wrapper": ("small", 0.5, 0.6, 0.0, 24.0, 0.2),
}
# segment bonus in logit utility units: verticals own enterprise, wrappers coding/chat UX
SEGMENT_BONUS = {
    "frontier": (0.0, 0.0, 0.0, 0.5),
    "efficiency": (0.0, 0.0, 0.0, 0.0),
    "vertical": (0.0, 1.5, 0.5, 0.0),
    "wrapper": (0.8, 0.0, 1.0, 0.0),
}


class Startup(Provider, mesa.Agent):
    """Raises rounds, rents GPU-hours, trains, serves and prices tokens; fails or is acquired.

    Args:
        model: the economy.
        region: "us" or "cn".
        strategy: one of STRATEGIES.
        cash_usd: initial cash (paid in by founders' first investors).
    """

    kind = "startup"

    def __init__(self, model: ComputeEconomy, region: str, strategy: str) -> None:
        super().__init__(model)
        self.region = region
        self.strategy = strategy
        tier, markup, staff, train, q0, _ = STRATEGIES[strategy]
        rng = model.streams["startups"]
        self.init_provider(quality=q0 + 0.3 * rng.standard_normal(), tier=tier, markup=markup)
        self.bonus = SEGMENT_BONUS[strategy]
        self.staff_floor_usd = model.p.startups.staff_usd_per_month * math.exp(0.3 * rng.standard_normal())
        self.staff_usd = self.staff_floor_usd
        self.staff_share, self.train_share = staff, train
        self.plan_training_usd = 0.0
        self.alive = True
        self.born_step = model.steps
        self.exit_step: int | None = None
        self.exit_kind = ""
        self.stakes: dict[int, float] = {}  # investor id -> ownership fraction
        self.last_post_usd = 0.0
        self.last_round_step = -999
        self.narrative_arr_usd = 0.0  # revenue run-rate investors were promised at the last round
        self.valuation_usd = 1e6
        self.revenue_history: list[float] = []
        self.cost_history: list[float] = []
        self.spend_usd = 0.0  # this month's compute spend
        self.training_chips: dict[str, float] = {}
        self.failed_rounds = 0
        self.last_ask_step = -999
        self.written_down = False
        # months a lab without traction lives on its last round before it must raise again
        self.patience_months = model.p.startups.traction_patience_months * math.exp(0.3 * rng.standard_normal())

    # --- compute -------------------------------------------------------------------------
    def plan_burn(self) -> None:
        """After money comes in: spend it over the target runway, split by strategy."""
        monthly = max(self.model.ledger.usd(self.unique_id), 0.0) / self.model.p.startups.target_runway_months
        self.staff_usd = max(self.staff_floor_usd, monthly * self.staff_share)
        self.plan_training_usd = monthly * self.train_share

    def training_budget_usd(self) -> float:
        """This month's training spend: the plan plus a share of last month's token revenue
        (labs that sell more train more: the loop that concentrates the token market),
        never more than the cash left."""
        reinvest = self.model.p.startups.revenue_reinvestment * self.token_revenue_usd
        return min(self.plan_training_usd + reinvest, max(self.model.ledger.usd(self.unique_id), 0.0))

    def serving_need_chips(self, chip_id: str) -> float:
        """Chips to serve last month's demand (served + rationed), grown 15% (assumption)."""
        d = self.model.deployment(self.model_id, chip_id)
        per_chip = d.mtok_per_chip_month * self.model.p.markets.serving_utilisation
        if per_chip <= 0:
            return 0.0
        base = max(self.served_mtok + self.rationed_mtok, self.model.entry_demand_mtok(self))
        return base * 1.15 / per_chip

    def serving_bid_usd(self, chip_id: str) -> float:
        """Most it pays per chip-month: the revenue a chip earns at its price, plus subsidy."""
        d = self.model.deployment(self.model_id, chip_id)
        rev = d.mtok_per_chip_month * self.model.p.markets.serving_utilisation * self.price_usd_per_mtok
        return rev * (1.0 + self.subsidy())

    def subsidy(self) -> float:
        """Penetration pricing: funded firms with long runway sell below cost (price wars)."""
        sp = self.model.p.startups
        if not sp.penetration_pricing or self.strategy == "frontier":
            return 0.0
        runway = self.runway_months()
        return sp.subsidy_depth * min(max((runway - sp.min_runway_months) / sp.target_runway_months, 0.0), 1.0)

    # --- money ---------------------------------------------------------------------------
    def burn_usd(self) -> float:
        """Average monthly net outflow over the last three months (>= staff cost)."""
        c = self.cost_history[-3:]
        r = self.revenue_history[-3:]
        net = (sum(c) - sum(r)) / max(len(c), 1)
        return max(net, 0.25 * self.staff_usd, 1.0)

    def runway_months(self) -> float:
        return max(self.model.ledger.usd(self.unique_id), 0.0) / self.burn_usd()

    def arr_usd(self) -> float:
        """Annualised revenue over the last six months (investors look through monthly noise)."""
        r = self.revenue_history[-6:]
        return 12 * sum(r) / max(len(r), 1)

    def growth(self) -> float:
        """Annualised growth of three-month revenue over up to a year, clipped to [-0.9, 3].

        Investors read growth from as little as six months of history (a young lab's
        trajectory is what its rounds price), annualising the shorter window.
        """
        h = self.revenue_history
        k = min(len(h) - 3, 12)  # months between the two three-month windows
        if k < 3:
            return 0.0
        before = sum(h[-3 - k:-k])
        if before <= 0:
            return 0.0
        return float(min(max((sum(h[-3:]) / before) ** (12 / k) - 1, -0.9), 3.0))

    def round_arr_usd(self) -> float:
        """What a new round prices: revenue two years out at today's growth, or the narrative.
        Rounds price growth that marks do not, so later marks often write them down."""
        return max(self.arr_usd() * (1 + min(max(self.growth(), 0.0), 1.0)) ** 2, self.narrative_arr_usd)

    def forward_arr_usd(self) -> float:
        """What investors price: the six-month revenue run-rate, or the last round's narrative
        (growth enters through the market's fundamental multiple, not firm by firm)."""
        return max(self.arr_usd(), self.narrative_arr_usd)

    def wants_funding(self) -> bool:
        """Raise when runway is short or without traction long after the last round; or,
        six months after the last round and the last attempt, opportunistically while the
        market is hot (sentiment above the threshold) or when the market prices the lab far
        above its last round (a pre-emptive round)."""
        sp = self.model.p.startups
        if self.needs_funding():
            return True
        if self.failed_rounds or self.model.t - self.last_ask_step < 6:
            return False  # an optional round that found no investor waits half a year
        if self.model.t - self.last_round_step < 6:
            return False
        return self.model.sentiment_factor >= sp.opportunistic_sentiment or self.preemptive()

    def needs_funding(self) -> bool:
        """Must raise: runway short, or no traction long after the last round. Only such
        rounds count as failed when no investor comes (cost cuts, then an exit)."""
        return self.runway_months() < self.model.p.startups.min_runway_months or self.no_traction()

    def market_multiple(self) -> float:
        """The market's EV / revenue multiple for a lab of this region."""
        return self.model.region_multiple(self.region)

    def preemptive(self) -> bool:
        """Money comes to the lab: the market would price it well above its last round, so
        it sells a slice at the higher price whatever its runway (the 2024-25 up-rounds of
        labs with cash in the bank; F24, F26)."""
        sp = self.model.p.startups
        return (sp.preemptive_uplift > 0 and self.last_post_usd > 0
                and self.market_multiple() * self.round_arr_usd() >= sp.preemptive_uplift * self.last_post_usd)

    def no_traction(self) -> bool:
        """Revenue still below the staff floor long after the last round: investors make the
        lab raise again (prove it or go) instead of letting it idle on its cash; failed
        rounds then end it through the usual exits (F28-F31: acqui-hires of labs with cash)."""
        return (self.model.t - self.last_round_step >= self.patience_months
                and self.arr_usd() < 12 * self.staff_floor_usd)

    def funding_ask_usd(self) -> float:
        """Money for the target runway of its gross spending plan (staff, training, serving;
        revenue is not counted on: labs raise for ambition, not for deficits); hot markets
        fund bigger plans (ask x sentiment)."""
        sp = self.model.p.startups
        gross = max(self.staff_usd + self.plan_training_usd + self.serving_cost_usd, self.burn_usd())
        ask = gross * sp.target_runway_months * max(1.0, self.model.sentiment_factor)
        if not self.needs_funding() and self.preemptive():
            # a pre-emptive round sells a slice of the company at the market's price
            ask = max(ask, sp.preemptive_dilution * self.market_multiple() * self.round_arr_usd())
        return ask

    def settle(self) -> None:
        """Pay staff; record this month's revenue and costs; decay the narrative."""
        if self.failed_rounds:
            # cost cuts after a failed round (assumption: staff -10% a month, training halved)
            self.staff_usd = max(self.staff_usd * 0.9, 0.25 * self.staff_floor_usd)
            self.plan_training_usd *= 0.5
        self.model.ledger.transfer(self.unique_id, "staff", self.staff_usd, "staff")
        self.revenue_history.append(self.token_revenue_usd)
        self.cost_history.append(self.staff_usd + self.spend_usd)
        self.narrative_arr_usd *= 1 - self.model.p.startups.narrative_decay_per_month

    def mark_valuation(self) -> None:
        """Mark to the market multiple on forward revenue; never below cash, floor $1m.

        A mark below the last post-money by more than the write-down threshold is logged
        once per round as a write-down (investors' books take the loss).
        """
        v = self.market_multiple() * self.forward_arr_usd()
        self.valuation_usd = float(max(v, self.model.ledger.usd(self.unique_id), 1e6))
        cut = self.model.p.investors.writedown_threshold
        if not self.written_down and self.last_post_usd > 0 and self.valuation_usd < (1 - cut) * self.last_post_usd:
            self.written_down = True
            self.model.log_event("write_down", self, None, self.last_post_usd - self.valuation_usd,
                                 f"mark {self.valuation_usd:.4g} vs last post {self.last_post_usd:.4g}")

    @property
    def revenue_usd(self) -> float:
        return self.token_revenue_usd

    def insolvent(self) -> bool:
        cash = self.model.ledger.usd(self.unique_id)
        # out of money; or no investor for two attempts and under three months of runway;
        # or no investor for max_failed_rounds attempts in a row
        return cash < 0 or (self.failed_rounds >= 2 and cash < 3 * self.burn_usd()) \
            or self.failed_rounds >= self.model.p.startups.max_failed_rounds
