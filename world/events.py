"""Scheduled policies and shocks: the scenario's dated event list, applied at month start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from world.demand import SEGMENTS
from world.params import (
    ArchitectureEvent,
    DemandShockEvent,
    ExportControlsEvent,
    RateChangeEvent,
    SubsidyEvent,
    ValuationDiscountEvent,
)

if TYPE_CHECKING:
    from world.model import ComputeEconomy


def due(model: ComputeEconomy) -> list:
    """Events dated this month, in file order."""
    return [e for e in model.p.events if e.date == model.month_str]


def apply(model: ComputeEconomy) -> None:
    """Apply this month's events to the model's policy state and log each one."""
    for e in due(model):
        amount = 0.0
        if isinstance(e, ExportControlsEvent):
            if not model.p.policy.export_controls:
                continue
            model.restricted = tuple(e.restricted)
            model.restricted_chips = tuple(e.chips)
        elif isinstance(e, RateChangeEvent):
            model.rate = e.rate
        elif isinstance(e, ArchitectureEvent):
            model.add_architecture(e.model_id, e.tier)
        elif isinstance(e, DemandShockEvent):
            model.demand_multipliers[SEGMENTS.index(e.segment)] *= e.tokens_multiplier
            amount = e.tokens_multiplier
        elif isinstance(e, SubsidyEvent):
            model.state_subsidy = e.usd_per_month
            amount = e.usd_per_month
        elif isinstance(e, ValuationDiscountEvent):
            model.valuation_discount[e.region] = e.discount
            amount = e.discount
        model.log_event(f"policy:{e.kind}", None, None, amount, e.detail or e.model_dump_json(exclude={"detail"}))
