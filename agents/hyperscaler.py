"""Compute owners: hyperscalers (with an in-house lab), neoclouds, state-backed centres."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mesa

from agents.lite_line import LiteLine
from agents.provider import Provider

if TYPE_CHECKING:
    from world.model import ComputeEconomy


def annuity(rate_per_month: float, months: int) -> float:
    """Level monthly payment per dollar lent at `rate_per_month` over `months`."""
    return rate_per_month / (1 - (1 + rate_per_month) ** -months) if rate_per_month > 0 else 1 / months


@dataclass
class Loan:
    """One GPU-backed loan: its own schedule, set at the rate of the month it was taken."""

    balance_usd: float
    rate: float  # annual rate the scheduled payment was set at (policy rate + spread then)
    payment_usd: float  # scheduled monthly payment at that rate
    amortise_from: int  # step from which principal is paid (interest only before)


class Hyperscaler(Provider, mesa.Agent):
    """Owns chips in powered data centres; rents spare GPU-hours; a lab serves its own API.

    Variants: "hyperscaler" (core cash flow, in-house lab, corporate venture arm),
    "neocloud" (rents GPUs only, buys with GPU-backed debt under a DSCR covenant),
    "state" (CN computing centre: subsidised, domestic/older chips, capped utilisation).

    Args:
        model: the economy.
        region: "us" or "cn".
        variant: "hyperscaler", "neocloud" or "state".
        scale: relative size (core cash flow and initial fleet multiply by it).
    """

    def __init__(self, model: ComputeEconomy, region: str, variant: str, scale: float) -> None:
        super().__init__(model)
        self.kind = variant
        self.region = region
        self.variant = variant
        self.scale = scale
        self.alive = True
        self.fleet: dict[str, int] = {}  # powered chips by class
        self.unpowered: dict[str, int] = {}  # delivered, waiting for power
        self.book_usd: dict[str, float] = {}  # book value by class (powered + unpowered)
        self.power_mw = 0.0
        self.construction: list[tuple[int, float]] = []  # (step ready, MW)
        self.on_order_h100e = 0.0
        self.on_order_mw: dict[str, float] = {}  # vendor name -> MW of the chips on order from it
        self.in_transit_h100e = 0.0  # shipped and paid for, not yet delivered (the lead time)
        self.in_transit_mw = 0.0
        self.offtake_promised_usd = 0.0  # equity owed at shipment for chips on order for offtake contracts
        self.demand_history: list[float] = []  # H100e used or wanted, per month
        self.internal_use: dict[str, float] = {}
        self.rented_in: dict[str, float] = {}  # chips the lab rents this month on offtake contracts
        self.rented_cost_usd: dict[str, float] = {}  # what it pays for them, by class
        self.internal_need_h100e = 0.0
        self.sold_chip_months = 0.0
        self.sold_h100e_months = 0.0  # the same in H100-equivalents, chip class by chip class
        self.rental_revenue_usd = 0.0
        self.rental_history: list[float] = []
        self.loans: list[Loan] = []
        self.covenant_breaches = 0
        self.capex_usd = 0.0
        self.valuation_usd = 0.0
        self.has_lab = variant == "hyperscaler"
        if self.has_lab:
            self.init_provider(quality=25.0 + 0.2 * model.streams["setup"].standard_normal(), tier="large",
                               markup=model.p.hyperscalers.lab_markup)
        hp = model.p.hyperscalers
        self.lite = LiteLine(self, hp.lab_lite_tier) if self.has_lab and hp.lab_lite else None
        self.training_budget_usd = 0.0
        self.lab_serve_h100e = 0.0
        self.lite_serve_h100e = 0.0  # the small-model line's part of lab_serve_h100e
        self.lab_training_chips: dict[str, float] = {}
        self.offered_chip_months = 0.0

    # --- physical capacity -------------------------------------------------------------
    def compute_h100e(self) -> float:
        return self.model.h100e_of(self.fleet)

    def mw_needed(self, fleet: dict[str, int]) -> float:
        return sum(n * self.model.chip_mw(c) for c, n in fleet.items())

    def book_in_transit(self, chip_id: str, units: int) -> None:
        """Chips shipped (`units` > 0) or delivered (< 0): booked in H100e and MW from shipment
        to delivery, so the lead time neither re-orders them nor leaves them without a shell."""
        self.in_transit_h100e = max(self.in_transit_h100e + units * self.model.h100e(chip_id), 0.0)
        self.in_transit_mw = max(self.in_transit_mw + units * self.model.chip_mw(chip_id), 0.0)

    def receive(self, chip_id: str, units: int, cost_usd: float) -> None:
        """Chips delivered (bought new or in a fire sale): unpowered until there is room."""
        self.unpowered[chip_id] = self.unpowered.get(chip_id, 0) + units
        self.book_usd[chip_id] = self.book_usd.get(chip_id, 0.0) + cost_usd

    def remove(self, chip_id: str, units: int) -> float:
        """Take chips out (sold); returns the book value removed."""
        have = self.fleet.get(chip_id, 0) + self.unpowered.get(chip_id, 0)
        if have <= 0 or units <= 0:
            return 0.0
        units = min(units, have)
        book = self.book_usd.get(chip_id, 0.0) * units / have
        from_unpowered = min(units, self.unpowered.get(chip_id, 0))
        self.unpowered[chip_id] = self.unpowered.get(chip_id, 0) - from_unpowered
        self.fleet[chip_id] = self.fleet.get(chip_id, 0) - (units - from_unpowered)
        self.book_usd[chip_id] -= book
        return book

    def power_up(self) -> None:
        """Finished construction adds MW; waiting chips are powered while MW allow (newest first)."""
        done = [mw for s, mw in self.construction if s <= self.model.steps]
        self.construction = [(s, mw) for s, mw in self.construction if s > self.model.steps]
        self.power_mw += sum(done)
        spare_mw = self.power_mw - self.mw_needed(self.fleet)
        for c in sorted(self.unpowered, key=lambda c: (-self.model.chip(c).launch_year, c)):
            n = self.unpowered[c]
            if n <= 0:
                continue
            per_chip = self.model.chip_mw(c)
            k = min(n, int(spare_mw // per_chip)) if per_chip > 0 else n
            if k > 0:
                self.unpowered[c] -= k
                self.fleet[c] = self.fleet.get(c, 0) + k
                spare_mw -= k * per_chip

    # --- capex ---------------------------------------------------------------------------
    def forecast_h100e(self, horizon_months: int) -> float:
        """Extrapolate recent demand growth over the build horizon (capped)."""
        hp = self.model.p.hyperscalers
        h = self.demand_history
        if not h:
            return self.compute_h100e()
        w = min(hp.forecast_window_months, len(h) - 1)
        now = h[-1]
        if w <= 0 or h[-1 - w] <= 0:
            return now
        g = (now / h[-1 - w]) ** (12.0 / w) - 1.0
        g = min(max(g, -0.5), hp.max_growth_per_year)
        return now * (1.0 + g) ** (horizon_months / 12.0)

    def capex_budget_usd(self) -> float:
        """Money this owner can commit to chips and buildings this month (debt included)."""
        hp = self.model.p.hyperscalers
        cash = max(self.model.ledger.usd(self.unique_id), 0.0)
        if self.variant == "neocloud":
            return self.neocloud_budget_usd()
        if self.variant == "state":
            return cash
        return cash * hp.capex_share_of_cash / hp.capex_spread_months

    def neocloud_budget_usd(self) -> float:
        """Equity beyond the debt-service reserve, spent over `capex_spread_months` and levered
        by GPU-backed debt that lenders size on rental income: total debt service may reach
        income / covenant DSCR, with income taken at its recent run-rate grown by the lender's
        optimism.

        In a boom rents and hence credit expand; in a glut they shrink (Minsky channel, F41).
        """
        hp = self.model.p.hyperscalers
        equity = self.free_equity_usd() / hp.capex_spread_months
        income = sum(self.rental_history[-3:]) / max(len(self.rental_history[-3:]), 1)
        room = max(income * hp.lender_optimism / max(hp.covenant_dscr, 1e-9) - self.debt_payment_usd, 0.0)
        new_debt = room / self.loan_payment_per_usd()
        return min(equity / max(1 - hp.neocloud_ltv, 0.05), equity + new_debt)

    def building_usd_per_chip(self, chip_id: str) -> float:
        return self.model.chip_mw(chip_id) * self.model.p.hyperscalers.construction_usd_per_mw

    def plan_capex(self) -> None:
        """Order chips and start buildings for the demand forecast at the end of the lead time.

        Demand is extrapolated over construction lag + chip lead time (the overbuild channel);
        state centres buy domestic chips with their subsidy whatever the demand.
        """
        hp = self.model.p.hyperscalers
        horizon = hp.construction_lag_months + self.model.p.vendors.lead_time_months
        if self.variant == "state":
            # assumption: the target grows by the cash at ~$20k per H100e; a domestic H100e with
            # its shell costs $50-70k, so the budget (all the cash) limits the order unless
            # chips already on order or in transit fill the gap
            target = self.h100e_total() + self.model.ledger.usd(self.unique_id) / 20_000.0
        else:
            target = self.forecast_h100e(horizon) / hp.planning_utilisation
        gap = target - self.h100e_total() - self.in_transit_h100e - self.on_order_h100e
        budget = self.capex_budget_usd()
        if gap > 0 and budget > 0:
            chip_id, price = self.model.best_chip_offer(self.region, state=self.variant == "state")
            if chip_id is not None:
                units = int(min(gap / self.model.h100e(chip_id), budget / (price + self.building_usd_per_chip(chip_id))))
                if units > 0:
                    self.place_order(chip_id, units, price, priority=int(self.variant != "state"))
        self.build()

    def place_order(self, chip_id: str, units: int, price: float, priority: int, backed: bool = False) -> None:
        """Queue chips with their vendor and book them (H100e and MW) as on order; for an
        offtake order (`backed`), the equity share it will pay at shipment is promised."""
        vendor = self.model.order_chips(self, chip_id, units, price, priority, backed)
        self.on_order_h100e += units * self.model.h100e(chip_id)
        if backed:
            self.offtake_promised_usd += self.offtake_equity_usd(units, price)
        mw = units * self.model.chip_mw(chip_id)
        self.on_order_mw[vendor.name] = self.on_order_mw.get(vendor.name, 0.0) + mw

    def chips_affordable(self, units: int, price_usd: float, ltv: float) -> int:
        """How many of `units` chips at `price_usd` this owner can pay for at shipment. A
        neocloud pays `1 - ltv` from cash and borrows the rest, and keeps its debt-service
        reserve (`debt_reserve_months`) for its loans and the new one (before, it shipped
        with its last dollar and could not pay the next month's interest); others pay cash."""
        cash = self.model.ledger.usd(self.unique_id)
        if self.variant != "neocloud":
            return min(units, int(max(cash, 0.0) / price_usd))
        months = self.model.p.hyperscalers.debt_reserve_months
        spare = cash - self.debt_reserve_usd()
        per_unit = price_usd * ((1 - ltv) + months * ltv * self.loan_payment_per_usd())
        return min(units, int(max(spare, 0.0) / per_unit)) if per_unit > 0 else units

    def free_equity_usd(self) -> float:
        """Cash beyond the debt-service reserve (`debt_reserve_months`) and the equity promised
        to chips on order for offtake contracts: what a neocloud can put into new capex or a
        new contract."""
        return max(self.model.ledger.usd(self.unique_id) - self.debt_reserve_usd() - self.offtake_promised_usd, 0.0)

    def debt_reserve_usd(self) -> float:
        """Cash kept for debt service: `debt_reserve_months` of the loans' scheduled payments."""
        return self.model.p.hyperscalers.debt_reserve_months * self.debt_payment_usd

    def offtake_equity_usd(self, units: int, price_usd: float) -> float:
        """What an offtake order's chips cost this neocloud from equity at shipment (the rest
        is borrowed at `offtake_ltv`)."""
        return units * price_usd * (1 - self.model.p.hyperscalers.offtake_ltv)

    def loan_payment_per_usd(self) -> float:
        """Scheduled monthly payment per dollar of a loan taken now (policy rate + spread,
        over `debt_term_months`)."""
        hp = self.model.p.hyperscalers
        return annuity((self.model.rate + hp.debt_rate_spread) / 12, hp.debt_term_months)

    def on_order_due_mw(self) -> float:
        """MW for the chips on order that their vendors will ship while a building goes up.

        Each order queues behind its own vendor's backlog (expected wait = backlog / monthly
        output); a shell is started for the share due within the construction lag, not for a
        queue that would take years to ship (before, owners built for all of it, and 2025's
        capex was three quarters buildings where real AI capex is mostly servers).
        """
        lag = self.model.p.hyperscalers.construction_lag_months
        wait = {v.name: v.wait_months() for v in self.model.vendors}
        return sum(mw * min(1.0, (lag + 1) / max(wait[name], 1e-9)) for name, mw in self.on_order_mw.items())

    def build(self) -> None:
        """Start buildings for the chips owned and those due from the vendors within the
        construction lag; they are ready after the lag."""
        hp = self.model.p.hyperscalers
        need_mw = (self.mw_needed(self.fleet) + self.mw_needed(self.unpowered) + self.in_transit_mw
                   + self.on_order_due_mw())
        pipeline = self.power_mw + sum(mw for _, mw in self.construction)
        if need_mw <= pipeline:
            return
        mw = need_mw - pipeline
        cost = mw * hp.construction_usd_per_mw
        own_share = 1 - hp.neocloud_ltv if self.variant == "neocloud" else 1.0
        cash = self.free_equity_usd()  # not the debt-service reserve, nor the chips' promised equity
        if cost * own_share > cash:  # build what can be paid for now; the rest waits
            mw, cost = mw * cash / (cost * own_share), cash / own_share
        if cost <= 0:
            return
        if self.variant == "neocloud":
            self.borrow(cost * hp.neocloud_ltv)
        paid = self.model.ledger.transfer(self.unique_id, "construction", cost, "construction") / 100
        self.capex_usd += paid
        self.construction.append((self.model.steps + hp.construction_lag_months, mw))

    # --- GPU-hour market -----------------------------------------------------------------
    def reservation_usd(self, chip_id: str) -> float:
        """Ask per chip-month: power plus a share of depreciation of the book value."""
        hp, mp = self.model.p.hyperscalers, self.model.p.markets
        n = self.fleet.get(chip_id, 0) + self.unpowered.get(chip_id, 0)
        dep = self.book_usd.get(chip_id, 0.0) / max(n, 1) / (hp.depreciation_years * 12)
        floor = mp.reservation_floor_share * (0.3 if self.covenant_breaches else 1.0)
        return self.model.power_cost_chip_month(chip_id, self.region) + floor * dep

    def plan_internal_use(self) -> dict[str, float]:
        """Own chips for the lab's need this month (`internal_need_h100e`, set by the GPU-hour
        market from `lab_need_h100e`), newest classes first."""
        if not self.has_lab:
            return {}
        need_h100e = min(self.internal_need_h100e, self.model.p.hyperscalers.max_internal_share * self.compute_h100e())
        use: dict[str, float] = {}
        for c in sorted(self.fleet, key=lambda c: (-self.model.chip(c).launch_year, c)):
            if need_h100e <= 0:
                break
            k = min(self.fleet[c], need_h100e / self.model.h100e(c))
            if k > 0:
                use[c] = k
                need_h100e -= k * self.model.h100e(c)
        return use

    def lab_need_h100e(self) -> float:
        """Serving for last month's demand plus 20% (each product line), and training from a budget.

        The training budget is a share of core cash flow, scaled by market sentiment (the
        AI race heats up with valuations); it buys H100e at the lab's own cost.
        """
        hp = self.model.p.hyperscalers
        best = self.model.region_best_serving_chip(self.region)
        self.lite_serve_h100e = self._serve_h100e(self.lite, best) if self.lite is not None else 0.0
        self.lab_serve_h100e = self._serve_h100e(self, best) + self.lite_serve_h100e
        self.training_budget_usd = self.core_cash_flow_usd() * hp.lab_training_share * self.model.sentiment_factor
        return self.lab_serve_h100e + self.training_budget_usd / self.own_cost_h100e()

    def _serve_h100e(self, line: Provider, best: str) -> float:
        """H100e a product line needs on the region's best chip `best`: last month's demand plus 20%."""
        d = self.model.deployment(line.model_id, best)
        per_chip = max(d.mtok_per_chip_month * self.model.p.markets.serving_utilisation, 1e-9)
        serve = max(line.served_mtok + line.rationed_mtok, self.model.entry_demand_mtok(self) * 4) * 1.2 / per_chip
        return serve * self.model.h100e(best)

    def own_cost_h100e(self) -> float:
        """Full cost of one H100e for a month at today's price: power plus straight-line
        depreciation of a new chip of the fleet's main class. A planning (replacement) cost for
        the lab's training budget; the books (`settle`) depreciate what was paid, declining-balance."""
        hp = self.model.p.hyperscalers
        chips = [c for c in sorted(self.fleet) if self.fleet[c] > 0] or ["h100-sxm"]
        c = max(chips, key=lambda k: (self.fleet.get(k, 0) * self.model.h100e(k), k))
        per_chip = self.model.power_cost_chip_month(c, self.region) + \
            self.model.chip(c).price_usd / (hp.depreciation_years * 12)
        return per_chip / self.model.h100e(c)

    def core_cash_flow_usd(self) -> float:
        hp = self.model.p.hyperscalers
        return hp.core_cash_flow_usd_per_month * self.scale * (1 + hp.core_cash_growth_per_year) ** self.model.years

    def non_ai_capex_usd(self) -> float:
        """The core business's own capex this month (offices, retail logistics, classic cloud).

        It is paid before the core cash flow reaches the AI side, so it buys no chips; it is
        reported because the capex facts (F12-F14, S07) count company-wide capex.
        """
        if self.variant != "hyperscaler":
            return 0.0
        return self.core_cash_flow_usd() * self.model.p.hyperscalers.non_ai_capex_share

    def spare(self, chip_id: str) -> float:
        """Chip-months free for the market after the lab and long-term contracts."""
        cap = self.fleet.get(chip_id, 0)
        if self.variant == "state":
            cap = cap * self.model.p.hyperscalers.state_utilisation_cap
        return max(cap - self.internal_use.get(chip_id, 0.0) - self.model.contracted_out(self, chip_id), 0.0)

    # --- accounts ------------------------------------------------------------------------
    def settle(self) -> None:
        """Core cash flow or subsidy in; power, staff, depreciation and debt service out."""
        hp = self.model.p.hyperscalers
        led = self.model.ledger
        if self.variant == "hyperscaler":
            led.transfer("core_business", self.unique_id, self.core_cash_flow_usd(), "core_cash_flow")
        elif self.variant == "state":
            led.transfer("government", self.unique_id, self.model.state_subsidy * self.scale, "state_subsidy")
        power = sum(n * self.model.power_cost_chip_month(c, self.region) for c, n in self.fleet.items())
        led.transfer(self.unique_id, "power", power, "power")
        for c in list(self.book_usd):
            self.book_usd[c] *= 1 - 1 / (hp.depreciation_years * 12)
        self.rental_history.append(self.rental_revenue_usd)
        if self.loans:
            self.service_debt()

    @property
    def debt_usd(self) -> float:
        return sum(k.balance_usd for k in self.loans)

    @property
    def debt_payment_usd(self) -> float:
        """Scheduled monthly payments of all loans (at the rates they were set at)."""
        return sum(k.payment_usd for k in self.loans)

    def borrow(self, usd: float, kind: str = "GPU-backed") -> None:
        """GPU-backed loan: cash from lenders; interest only until the chips earn (project
        finance style: construction lag + lead time), then amortised over the term. The
        rate floats (policy rate + spread, as CoreWeave's delayed-draw loans over SOFR):
        the schedule is set at today's rate and a later rate move is paid on top of it.
        Each loan keeps its own schedule, so a new loan does not defer an older one's
        principal."""
        hp = self.model.p.hyperscalers
        if usd <= 0:
            return  # nothing lent (an LTV of 0)
        self.model.ledger.transfer("lenders", self.unique_id, usd, "loan")
        start = self.model.steps + hp.construction_lag_months + self.model.p.vendors.lead_time_months
        self.loans.append(Loan(usd, self.model.rate + hp.debt_rate_spread, usd * self.loan_payment_per_usd(), start))
        self.model.log_event("loan", self, None, usd, f"{kind}, {hp.debt_term_months} months")

    def service_debt(self) -> None:
        """Pay each loan's interest (and principal once it amortises); count covenant
        breaches (rental income / debt service below the minimum) once any loan amortises,
        and force sales after the grace."""
        hp = self.model.p.hyperscalers
        r = (self.model.rate + hp.debt_rate_spread) / 12
        pay = 0.0
        amortising = False
        for k in self.loans:
            interest = k.balance_usd * r
            if self.model.steps >= k.amortise_from:
                amortising = True
                # floating rate: the interest above (or below) the rate the schedule was set at is paid on top
                due = min(k.payment_usd + k.balance_usd * (r - k.rate / 12), k.balance_usd + interest)
            else:
                due = interest
            k.balance_usd = max(k.balance_usd + interest - due, 0.0)
            pay += due
        self.loans = [k for k in self.loans if k.balance_usd > 1.0]
        self.model.ledger.transfer(self.unique_id, "lenders", pay, "debt_service")
        if not amortising:
            return
        income = sum(self.rental_history[-3:]) / max(len(self.rental_history[-3:]), 1)
        dscr = income / max(pay, 1.0)
        self.covenant_breaches = self.covenant_breaches + 1 if dscr < hp.covenant_dscr else 0
        if self.covenant_breaches > hp.covenant_grace_months:
            self.model.log_event("covenant_breach", self, None, pay, f"dscr={dscr:.2f}")
            self.model.fire_sale(self, share=0.25)
            self.covenant_breaches = 1

    def prepay(self, usd: float) -> None:
        """Repay `usd` of principal early (fire-sale proceeds), pro rata across the loans;
        each loan's scheduled payment shrinks with its balance."""
        debt = self.debt_usd
        if debt <= 0 or usd <= 0:
            return
        keep = max(1.0 - usd / debt, 0.0)
        for k in self.loans:
            k.balance_usd *= keep
            k.payment_usd *= keep
        self.loans = [k for k in self.loans if k.balance_usd > 1.0]

    def mark_valuation(self) -> None:
        """Neoclouds: equity = multiple x rental revenue run-rate - debt (floored at $1m)."""
        if self.variant != "neocloud":
            return
        arr = 12 * sum(self.rental_history[-3:]) / max(len(self.rental_history[-3:]), 1)
        ev = 0.5 * self.model.region_multiple(self.region) * arr + self.model.ledger.usd(self.unique_id)
        self.valuation_usd = float(max(ev - self.debt_usd, 1e6))

    def insolvent(self) -> bool:
        return self.model.ledger.usd(self.unique_id) < 0 and self.variant == "neocloud"

    def h100e_total(self) -> float:
        return self.compute_h100e() + self.model.h100e_of(self.unpowered)

    @property
    def revenue_usd(self) -> float:
        if not self.has_lab:
            return self.rental_revenue_usd
        lite = self.lite.token_revenue_usd if self.lite is not None else 0.0
        return self.rental_revenue_usd + self.token_revenue_usd + lite

    def debt_ok(self) -> bool:
        return math.isfinite(self.debt_usd) and self.debt_usd >= 0
