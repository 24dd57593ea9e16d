"""ComputeEconomy: the world, its agents and the monthly step order.

Each line of `step()` is one phase; each phase lives in its own module (world/markets/*,
world/events.py, world/collect.py). Agents decide; the phases collect their decisions,
clear the markets and move money through the ledger.

Steps are 0-based months in the outputs: row `step` = k is the month `start + k`.
"""

from __future__ import annotations

import functools
import zlib

import mesa
import numpy as np
import polars as pl

from agents.hyperscaler import Hyperscaler
from agents.investor import Investor
from agents.startup import Startup
from agents.vendor import ChipVendor
from hardware_models import specs
from world import capacity, collect, events, setup
from world.demand import SEGMENTS, reference_volume
from world.ledger import Ledger
from world.markets import capital, chips, gpu_hours, m_and_a, tokens
from world.markets.chips import ChipOrder
from world.markets.gpu_hours import Contract
from world.network import DealNetwork
from world.params import EconomyParams

STREAMS = ("setup", "startups", "demand", "capital", "entry", "exits")
# assumption: software-ecosystem discount on a vendor's value per H100e (CUDA moat):
# buyers treat an AMD H100e as worth 35% of an NVIDIA one (MI300X sells at ~half an
# H100's price for ~1.4x its specs); Chinese chips compete at home.
ECOSYSTEM = {"NVIDIA": 1.0, "AMD": 0.35, "Huawei": 0.8, "Cambricon": 0.6}
# assumption: buyers discount 10% of value per month of expected wait (time to market).
WAIT_PENALTY_PER_MONTH = 0.1


class ComputeEconomy(mesa.Model):
    """The AI compute economy, one month a step.

    Args:
        params: the resolved scenario parameters (defaults: the baseline).
        seed: the one seed; every random stream derives from it and a subsystem name.
    """

    def __init__(self, params: EconomyParams | None = None, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.p = params if params is not None else EconomyParams()
        self.seed = seed
        self.t = 0  # the month being simulated (0-based); set at the start of each step
        self._cache: dict[tuple, object] = {}
        self.rent_caps: dict[str, float] = {}  # chip class -> most a renter pays (this month)
        self.streams = {n: np.random.default_rng([seed, zlib.crc32(n.encode())]) for n in STREAMS}
        y, m = self.p.run.start.split("-")
        self.start_year, self.start_month = int(y), int(m)
        self.ledger = Ledger()
        self.ledger.open("creditors")
        self.network = DealNetwork()
        self.events_log: list[dict] = []
        self.rate = self.p.rates.base_rate
        self.restricted: tuple[str, ...] = ()
        self.restricted_chips: tuple[str, ...] = ()
        self.state_subsidy = self.p.hyperscalers.state_subsidy_usd_per_month
        self.valuation_discount = {"us": 0.0, "cn": 0.0}  # set by valuation_discount events
        self.demand_multipliers = np.ones(len(SEGMENTS))
        self.architectures: list[tuple[str, str, int]] = [
            (a.model_id, a.tier, self.month_index(a.available)) for a in self.p.architectures
        ]
        self.capital = capital.CapitalState()
        self.fundamental_multiple = self.p.investors.fundamental_multiple
        self.market_multiple = self.fundamental_multiple
        self.sentiment_factor = 1.0
        self.gpu_price: dict[tuple[str, str], float] = {}
        self.contracts: list[Contract] = []
        self.contract_book: dict[tuple[int, str], float] = {}  # (owner id, class) -> chips reserved
        self.renter_book: dict[tuple[int, str], float] = {}  # (renter id, class) -> chips reserved
        self.chip_orders: list[ChipOrder] = []
        self.deliveries: list[tuple[int, Hyperscaler, str, int, float]] = []
        self.deals: list[tuple[int, int]] = []  # (step, startup id) of closed rounds, for herding
        self.deal_count: dict[int, int] = {}  # startup id -> rounds in the last six months
        ref = reference_volume(self.p.demand, 0.0, self.demand_multipliers)
        # this month's aggregates, reset each step; the first month sizes on reference demand
        self.month: dict[str, float] = {"demand_us": float(ref[0].sum()), "demand_cn": float(ref[1].sum())}
        self.cum = {"bankruptcies": 0, "acquisitions": 0}
        self.model_rows: list[dict] = []
        self.agent_rows: list[dict] = []
        self.vendors: list[ChipVendor] = []
        self.owners: list[Hyperscaler] = []
        self.startups: list[Startup] = []
        self.investors: list[Investor] = []
        self.vcs_by_region: dict[str, list[Investor]] = {}
        self._setup()

    # --- calendar ------------------------------------------------------------------------
    def month_index(self, ym: str) -> int:
        y, m = ym.split("-")
        return (int(y) - self.start_year) * 12 + int(m) - self.start_month

    @property
    def month_str(self) -> str:
        k = self.start_month - 1 + self.t
        return f"{self.start_year + k // 12:04d}-{k % 12 + 1:02d}"

    @property
    def years(self) -> float:
        return self.t / 12.0

    @property
    def year_frac(self) -> float:
        return self.start_year + (self.start_month - 1 + self.t) / 12.0

    @property
    def algorithmic_efficiency(self) -> float:
        return self.p.markets.algorithmic_progress_per_year ** self.years

    # --- catalog and hardware model ------------------------------------------------------
    @staticmethod
    @functools.cache
    def chip(chip_id: str) -> specs.Chip:
        return specs.get_chip(chip_id)

    @staticmethod
    @functools.cache
    def h100e(chip_id: str) -> float:
        return capacity.h100e(chip_id)

    def h100e_of(self, chips: dict[str, float]) -> float:
        """H100-equivalents of a book of chips ({chip class: units or chip-months})."""
        return sum(n * self.h100e(c) for c, n in chips.items())

    def deployment(self, model_id: str, chip_id: str) -> capacity.Deployment:
        mp = self.p.markets
        return capacity.deployment(model_id, chip_id, mp.input_len, mp.output_len)

    def training_flops(self, chip_id: str) -> float:
        return capacity.training_flops_per_chip_month(chip_id, self.p.markets.mfu)

    def chip_mw(self, chip_id: str) -> float:
        """Facility MW one installed chip takes: its TDP, the server around it, the cooling (PUE)."""
        hp = self.p.hyperscalers
        return self.chip(chip_id).tdp_w * hp.server_overhead * hp.pue / 1e6

    def power_cost_chip_month(self, chip_id: str, region: str) -> float:
        kw = self.chip_mw(chip_id) * 1000
        return kw * gpu_hours.HOURS_PER_MONTH * self.p.hyperscalers.power_usd_per_kwh

    def add_architecture(self, model_id: str, tier: str) -> None:
        self.architectures.append((model_id, tier, self.t))

    def best_architecture(self, tier: str, moe: bool, min_age_months: int = 0) -> str:
        """Cheapest-to-serve available architecture of a tier on an H100 (MoE allowed or not)."""
        ok = [
            m for m, tr, av in self.architectures
            if tr == tier and av + min_age_months <= self.t and (moe or not specs.get_model(m).is_moe)
        ]
        if not ok:
            ok = [m for m, tr, av in self.architectures if tr == tier] or [self.architectures[0][0]]
        return max(sorted(ok), key=lambda m: self.deployment(m, "h100-sxm").mtok_per_chip_month)

    def _region_fleet(self, region: str) -> dict[str, float]:
        """Powered chips by class in a region, computed once a month (cached)."""
        key = ("fleet", region, self.t)
        if key not in self._cache:
            tot: dict[str, float] = {}
            for o in self.owners:
                if o.alive and o.region == region:
                    for c, n in o.fleet.items():
                        if n > 0:
                            tot[c] = tot.get(c, 0.0) + n
            self._cache = {k: v for k, v in self._cache.items() if k[2] == self.t}
            self._cache[key] = tot
        return self._cache[key]

    def owned_classes(self, region: str) -> list[str]:
        return sorted(self._region_fleet(region))

    def region_best_serving_chip(self, region: str) -> str:
        """The class with the most powered chips in a region (for sizing lab serving)."""
        tot = self._region_fleet(region)
        return max(sorted(tot), key=lambda c: tot[c]) if tot else "h100-sxm"

    # --- chip market ---------------------------------------------------------------------
    def best_chip_offer(self, region: str, state: bool = False) -> tuple[str | None, float]:
        """The product with the most H100e per dollar (ecosystem-weighted, discounted for the
        vendor's backlog wait) a buyer may buy."""
        best, best_val, best_price = None, -1.0, 0.0
        for v in self.vendors:
            for c in v.on_sale(int(self.year_frac)):
                chip = self.chip(c)
                if not self.may_buy(c, region):
                    continue
                if state and chip.export_class != "domestic-cn":
                    continue
                price = v.quote(c)
                val = self.h100e(c) * ECOSYSTEM.get(v.name, 0.5) / price / (1 + WAIT_PENALTY_PER_MONTH * v.wait_months())
                if val > best_val:
                    best, best_val, best_price = c, val, price
        return best, best_price

    def may_buy(self, chip_id: str, region: str) -> bool:
        """Export rules in force now for a buyer in `region`."""
        return chips.export_allowed(self.chip(chip_id).export_class, region, self.restricted) and not (
            region == "cn" and chip_id in self.restricted_chips)

    def order_chips(self, buyer: Hyperscaler, chip_id: str, units: int, price: float, priority: int,
                    backed: bool = False) -> ChipVendor:
        """Queue an order with the chip's vendor; returns the vendor."""
        vendor = next(v for v in self.vendors if chip_id in v.products)
        self.chip_orders.append(ChipOrder(buyer, vendor, chip_id, units, price, priority, self.t, backed))
        return vendor

    # --- GPU-hour contracts --------------------------------------------------------------
    def contracted_out(self, owner: Hyperscaler, chip_id: str) -> float:
        """Chips of a class an owner has reserved for renters this month."""
        return self.contract_book.get((owner.unique_id, chip_id), 0.0)

    def add_contract(self, k: Contract) -> None:
        """Book a contract; the owner's chips are reserved from its first month on."""
        self.contracts.append(k)
        key = (k.owner.unique_id, k.chip_id)
        if k.start <= self.t:
            self.contract_book[key] = self.contract_book.get(key, 0.0) + k.chips
        rkey = (k.renter.unique_id, k.chip_id)
        self.renter_book[rkey] = self.renter_book.get(rkey, 0.0) + k.chips

    def rebuild_contract_books(self, keep: list[Contract]) -> None:
        """Re-index the live contracts (after expiries and exits)."""
        self.contracts, self.contract_book, self.renter_book = [], {}, {}
        for k in keep:
            self.add_contract(k)

    # --- capital -------------------------------------------------------------------------
    def region_factor(self, region: str) -> float:
        """What a dollar of AI revenue is worth in `region`: 1 less the discount its latest
        valuation_discount event set (none: 1)."""
        return 1.0 - self.valuation_discount[region]

    def region_multiple(self, region: str) -> float:
        """The market's EV / revenue multiple for a firm of `region`."""
        return self.market_multiple * self.region_factor(region)

    def recent_deals(self, s: Startup) -> int:
        """Rounds closed by this startup in the last six months (what herding investors see)."""
        return self.deal_count.get(s.unique_id, 0)

    def _age_deals(self) -> None:
        while self.deals and self.deals[0][0] < self.t - 6:
            _, sid = self.deals.pop(0)
            self.deal_count[sid] -= 1

    def startups_alive(self) -> list[Startup]:
        return [s for s in self.startups if s.alive]

    def record_funding(self, usd: float) -> None:
        """Venture money raised this month, by rounds and entrants' first rounds (`funding_usd`)."""
        self.month["funding_usd"] = self.month.get("funding_usd", 0.0) + usd

    def entry_demand_mtok(self, s: Startup) -> float:
        """A new provider sizes serving for a small slice of its region's demand (assumption: 0.5%)."""
        return 0.005 * self.month.get(f"prev_demand_{s.region}", 0.0)

    # --- events log ----------------------------------------------------------------------
    def log_event(self, kind: str, agent: mesa.Agent | None, counterparty: mesa.Agent | None,
                  amount_usd: float, detail: str) -> None:
        self.events_log.append({
            "step": self.t, "date": self.month_str, "kind": kind,
            "agent_id": agent.unique_id if agent is not None else None,
            "counterparty_id": counterparty.unique_id if counterparty is not None else None,
            "amount_usd": float(amount_usd), "detail": detail,
        })

    def month_events(self, step: int) -> list[dict]:
        return [e for e in self.events_log if e["step"] == step]

    # --- exits ---------------------------------------------------------------------------
    def fire_sale(self, seller: Hyperscaler, share: float) -> float:
        """Sell a share of a distressed owner's chips to other owners in its region.

        Buyers bid the fire-sale discount times the used (book) value, for as many chips as
        their spare power and cash allow; what nobody buys is scrapped. Proceeds repay debt.
        """
        return m_and_a.run_fire_sale(self, seller, share)

    # --- setup ---------------------------------------------------------------------------
    def _setup(self) -> None:
        setup.populate(self)

    # --- the month -----------------------------------------------------------------------
    def step(self) -> None:
        """One month, in the order of DESIGN.md."""
        self.t = self.steps - 1
        self.rent_caps = {}
        self._age_deals()
        self.month = {"prev_demand_us": self.month.get("demand_us", 0.0),
                      "prev_demand_cn": self.month.get("demand_cn", 0.0)}
        events.apply(self)  # 1. policies and shocks due this month
        chips.run(self)  # 2. vendors quote, buyers order, scarce supply allocated, deliveries land
        for o in self.owners:  # 3. data centres: construction completes, chips powered
            if o.alive:
                o.power_up()
        gpu_hours.run(self)  # 4. GPU-hour market per (region, chip class), contracts first
        tokens.run(self)  # 5-6. serving capacity from the hardware model; token market per region
        self.train()  # 7. training compute raises capability
        capital.run(self)  # 8. sentiment, LP inflows, rounds, circular deals, entry
        self.settle()  # 9. accounting
        m_and_a.run_exits(self)  # 10. bankruptcies (fire sales) and acquisitions
        collect.collect(self)  # 11. metrics, data collection and invariant checks

    def train(self) -> None:
        for s in self.startups:
            if s.alive and s.training_chips:
                s.train(s.training_chips)
        for o in self.owners:
            if o.alive and o.has_lab and o.lab_training_chips:
                o.train(o.lab_training_chips)

    def settle(self) -> None:
        for a in (*self.owners, *self.startups):
            if a.alive:
                a.settle()
        for v in self.vendors:
            v.settle()
        for a in (*self.owners, *self.startups):
            if a.alive:
                a.mark_valuation()
        for i in self.investors:
            i.mark()

    # --- outputs -------------------------------------------------------------------------
    def model_frame(self) -> pl.DataFrame:
        return collect.model_frame(self)

    def agents_frame(self) -> pl.DataFrame:
        return collect.agents_frame(self)

    def events_frame(self) -> pl.DataFrame:
        return collect.events_frame(self)

    def __repr__(self) -> str:
        return f"ComputeEconomy(seed={self.seed}, month={self.month_str}, steps={self.steps})"


def run_months(params: EconomyParams, seed: int, months: int | None = None) -> ComputeEconomy:
    """Build and run a model for `months` (default: the scenario's)."""
    model = ComputeEconomy(params, seed)
    for _ in range(months if months is not None else params.run.months):
        model.step()
    return model


