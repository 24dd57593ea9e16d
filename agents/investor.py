"""Investors: VC funds (LP money) and hyperscalers' corporate venture arms."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from agents.startup import Startup
    from world.model import ComputeEconomy


class Investor(mesa.Agent):
    """Prices startups by its expectation rule, picks deals with herding, marks its book.

    Each month a fund follows the trend-chasing rule with the population probability of the
    Brock-Hommes switching model (world/markets/capital.py), else the fundamentalist rule;
    its quoted multiple is the market's fundamental multiple times exp(its forecast of the
    deviation) times a persistent personal bias.

    Args:
        model: the economy.
        kind: "vc" or "corporate".
        parent: the hyperscaler behind a corporate arm (None for VCs).
        region: a VC fund's region; a corporate arm takes its parent's.
    """

    def __init__(self, model: ComputeEconomy, kind: str, parent: mesa.Agent | None = None,
                 region: str = "us") -> None:
        super().__init__(model)
        self.kind = kind
        self.parent = parent
        self.region = parent.region if parent is not None else region
        self.bias = 0.15 * model.streams["setup"].standard_normal()
        self.trend_follower = False
        self.alive = True
        self.nav_usd = 0.0
        self.nav_history: list[float] = []
        self.invested_usd = 0.0
        self.valuation_usd = 1e6
        self.portfolio: dict[int, Startup] = {}  # startups it holds stakes in, by id

    def choose_rule(self) -> None:
        """Discrete choice of rule with the population's Brock-Hommes probability."""
        self.trend_follower = self.model.streams["capital"].random() < self.model.capital.trend_share

    def multiple(self) -> float:
        """EV / forward revenue this investor pays now."""
        cap = self.model.capital
        x = cap.trend_forecast if self.trend_follower else cap.fundamental_forecast
        return self.model.fundamental_multiple * math.exp(x + self.bias)

    def budget_usd(self) -> float:
        """Money to deploy this month: a share of dry powder, shrinking in a funding winter."""
        ip = self.model.p.investors
        if self.kind == "corporate":
            if not ip.corporate_arms or self.parent is None or not self.parent.alive:
                return 0.0
            pool = max(self.model.ledger.usd(self.parent.unique_id), 0.0) * 0.02
        else:
            pool = max(self.model.ledger.usd(self.unique_id), 0.0)
        return pool * ip.deploy_share_per_month * self.model.sentiment_factor

    def score(self, s: Startup) -> float:
        """Deal attractiveness: capability, growth and herding on peers' recent deals."""
        herd = self.model.p.investors.herding * math.log1p(self.model.recent_deals(s))
        return 2.0 * (s.quality - 25.0) + 0.5 * max(s.growth(), 0.0) + herd

    def quote(self, s: Startup) -> float:
        """Pre-money valuation offered, at its region's discount."""
        return max(self.multiple() * self.model.region_factor(s.region) * s.round_arr_usd(), 5e6)

    def add_holding(self, s: Startup) -> None:
        self.portfolio[s.unique_id] = s

    def mark(self) -> None:
        """Net asset value of the portfolio at current marks plus cash."""
        nav = self.model.ledger.usd(self.unique_id) if self.kind == "vc" else 0.0
        for sid in sorted(self.portfolio):
            s = self.portfolio[sid]
            if s.alive:
                nav += s.stakes.get(self.unique_id, 0.0) * s.valuation_usd
        self.nav_usd = nav
        self.nav_history.append(nav)
        self.valuation_usd = max(nav, 1e6)
