"""The model the page steps: ComputeEconomy built from a scenario name, a seed and overrides.

Mesa's ModelController resets a model as `type(model)(**parameters)`, so the page's model
class takes everything a reset needs as keyword arguments: the scenario, the seed and the
slider values under their dotted parameter paths ("investors.trend_strength": 2.0).
"""

from __future__ import annotations

import polars as pl

from scenarios.config import Scenario, load_scenario
from world.model import ComputeEconomy


class VizEconomy(ComputeEconomy):
    """ComputeEconomy that knows its scenario and stops at the scenario's last month."""

    def __init__(self, scenario: str = "baseline", seed: int = 0, **overrides: object) -> None:
        """Args:
        scenario: library name or path of a scenario TOML.
        seed: the run's seed.
        overrides: dotted parameter paths and values, validated by load_scenario.
        """
        self.scenario: Scenario = load_scenario(scenario, overrides)
        super().__init__(self.scenario.params, seed=seed)
        self._agents_now: tuple[int, pl.DataFrame] | None = None
        self.running = self.steps < self.scenario.months

    def step(self) -> None:
        """One month; the run stops (Play and Step disable) after the scenario's last month."""
        super().step()
        self.running = self.steps < self.scenario.months

    def runways(self) -> dict[int, float]:
        """Months of cash left at the current burn, for the agents that burn cash (startups)."""
        return {a.unique_id: a.runway_months() for a in self.agents if hasattr(a, "runway_months")}

    def agents_now(self) -> pl.DataFrame:
        """The agents frame at its latest step: one row per live agent (kept for the month)."""
        if self._agents_now is None or self._agents_now[0] != self.steps:
            agents = self.agents_frame()
            if not agents.is_empty():
                agents = agents.filter(pl.col("step") == agents.get_column("step").max())
            self._agents_now = (self.steps, agents)
        return self._agents_now[1]
