"""Monthly data collection (one model row, one row per live agent) and invariant checks.

Plain dict rows turned into polars frames at the end: cheaper than mesa's DataCollector
for thousands of agents, and every reporter is a named column computed here.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from world import metrics
from world.ledger import check_at_most, check_finite_positive, check_non_negative
from world.markets import tokens
from world.markets.gpu_hours import HOURS_PER_MONTH

if TYPE_CHECKING:
    from world.model import ComputeEconomy

MODEL_COLUMNS = (
    "step", "date", "api_price_index_usd_per_mtok", "api_price_index_us_usd_per_mtok",
    "api_price_index_cn_usd_per_mtok", "api_price_high_us_usd_per_mtok", "api_price_low_us_usd_per_mtok",
    "api_price_high_cn_usd_per_mtok", "api_price_low_cn_usd_per_mtok",
    "gpu_hour_price_usd", "gpu_hour_price_cn_usd", "gpu_hour_price_all_usd",
    "token_volume_mtok", "token_demand_mtok", "unmet_demand_share", "compute_capacity_h100e",
    "compute_utilization", "n_startups_alive", "n_bankruptcies", "n_acquisitions", "hhi_compute",
    "hhi_tokens", "cr2_compute", "valuation_index_usd", "ai_revenue_usd", "capex_usd", "non_ai_capex_usd",
    "funding_usd",
    "sentiment", "trend_share", "market_multiple", "lp_inflow_usd", "rate", "rental_revenue_usd",
    "chip_sales_usd", "unpowered_h100e", "debt_usd", "vendor_capacity_h100e", "vendor_backlog_h100e",
    "gpu_unmet_h100e", "n_neoclouds_alive",
)


def _carry(model: ComputeEconomy, key: str, value: float, default: float) -> float:
    """A price with no trade this month keeps last month's value."""
    if math.isfinite(value) and value > 0:
        return value
    if model.model_rows:
        return model.model_rows[-1][key]
    return default


def collect(model: ComputeEconomy) -> None:
    """Append this month's rows, then check the invariants."""
    m = model.month
    owners = [o for o in model.owners if o.alive]
    provs = tokens.providers(model)
    startups = [s for s in model.startups if s.alive]
    compute = np.array([o.compute_h100e() for o in owners])
    # Own chips in use: a lab's rented chips are already counted as the owner's sales.
    used = sum(sum(min(n, o.fleet.get(c, 0)) * model.h100e(c) for c, n in o.internal_use.items())
               + o.sold_h100e_months for o in owners)
    served = np.array([a.served_mtok for a in provs])
    by_firm: dict[int, float] = {}  # a cloud's lite line counts with its flagship
    for a in provs:
        by_firm[a.unique_id] = by_firm.get(a.unique_id, 0.0) + a.served_mtok
    served_firms = np.array(list(by_firm.values()))
    demand = m.get("demand_us", 0.0) + m.get("demand_cn", 0.0)
    unmet = m.get("unmet_us", 0.0) + m.get("unmet_cn", 0.0)
    ref = model.p.demand.reference_price_usd_per_mtok
    neos = [o for o in owners if o.variant == "neocloud"]
    row = {
        "step": model.t,
        "date": model.month_str,
        "api_price_index_usd_per_mtok": _carry(model, "api_price_index_usd_per_mtok", m.get("price_index", math.nan), ref),
        "api_price_index_us_usd_per_mtok": _carry(model, "api_price_index_us_usd_per_mtok", m.get("price_index_us", math.nan), ref),
        "api_price_index_cn_usd_per_mtok": _carry(model, "api_price_index_cn_usd_per_mtok", m.get("price_index_cn", math.nan), ref),
        # by tier: frontier-class (large) models against small and mid ones, per region
        **{f"api_price_{tier}_{r}_usd_per_mtok": _carry(model, f"api_price_{tier}_{r}_usd_per_mtok",
                                                        m.get(f"price_{tier}_{r}", math.nan), ref)
           for r in ("us", "cn") for tier in ("high", "low")},
        "gpu_hour_price_usd": _carry(model, "gpu_hour_price_usd", m.get("gpu_price_hi_us", math.nan) / HOURS_PER_MONTH, 8.0),
        # CN holds few H100-class chips under export controls: its price is per H100e over all classes
        "gpu_hour_price_cn_usd": _carry(model, "gpu_hour_price_cn_usd", m.get("gpu_price_h100e_cn", math.nan) / HOURS_PER_MONTH, 8.0),
        "gpu_hour_price_all_usd": _carry(model, "gpu_hour_price_all_usd", m.get("gpu_price_h100e_us", math.nan) / HOURS_PER_MONTH, 8.0),
        "token_volume_mtok": float(served.sum()),
        "token_demand_mtok": float(demand),
        "unmet_demand_share": float(unmet / demand) if demand > 0 else 0.0,
        "compute_capacity_h100e": float(compute.sum()),
        "compute_utilization": float(used / compute.sum()) if compute.sum() > 0 else 0.0,
        "n_startups_alive": len(startups),
        "n_bankruptcies": model.cum["bankruptcies"],
        "n_acquisitions": model.cum["acquisitions"],
        "hhi_compute": metrics.hhi(compute) if compute.sum() > 0 else 0.0,
        "hhi_tokens": metrics.hhi(served_firms) if served.sum() > 0 else 0.0,
        "cr2_compute": metrics.concentration_ratio(compute, 2) if compute.sum() > 0 else 0.0,
        "valuation_index_usd": float(sum(s.valuation_usd for s in startups) + sum(o.valuation_usd for o in neos)),
        "ai_revenue_usd": float(sum(a.token_revenue_usd for a in provs)),
        "capex_usd": float(sum(o.capex_usd for o in model.owners)),
        "non_ai_capex_usd": float(sum(o.non_ai_capex_usd() for o in owners)),
        "funding_usd": float(m.get("funding_usd", 0.0)),
        "sentiment": float(math.exp(model.capital.x[-1])),
        "trend_share": float(m.get("trend_share", 0.0)),
        "market_multiple": float(model.market_multiple),
        "lp_inflow_usd": float(m.get("lp_inflow_usd", 0.0)),
        "rate": float(model.rate),
        "rental_revenue_usd": float(sum(o.rental_revenue_usd for o in owners)),
        "chip_sales_usd": float(sum(v.month_revenue_usd for v in model.vendors)),
        "unpowered_h100e": float(sum(n * model.h100e(c) for o in owners for c, n in o.unpowered.items())),
        "debt_usd": float(sum(o.debt_usd for o in owners)),
        "vendor_capacity_h100e": float(sum(v.capacity_h100e for v in model.vendors)),
        "vendor_backlog_h100e": float(sum(v.backlog_h100e for v in model.vendors)),
        "gpu_unmet_h100e": float(m.get("gpu_unmet_h100e_us", 0.0) + m.get("gpu_unmet_h100e_cn", 0.0)),
        "n_neoclouds_alive": len(neos),
    }
    model.model_rows.append(row)
    for o in model.owners:
        o.capex_usd = 0.0
    _agent_rows(model)
    check_invariants(model)


def _agent_rows(model: ComputeEconomy) -> None:
    t = model.t
    led = model.ledger
    for a in (*model.vendors, *model.owners, *model.startups, *model.investors):
        if not a.alive and getattr(a, "exit_step", None) != t:
            continue
        provider = hasattr(a, "price_usd_per_mtok")
        lite = getattr(a, "lite", None)  # a cloud's served tokens and capacity count both its lines
        compute = float(a.compute_h100e() if hasattr(a, "fleet") else
                        model.h100e_of(getattr(a, "serving_chips", {}))
                        + model.h100e_of(getattr(a, "training_chips", {})))
        model.network.update_node(a.unique_id, bool(a.alive), compute)
        model.agent_rows.append({
            "step": t,
            "agent_id": a.unique_id,
            "kind": a.kind,
            "region": getattr(a, "region", "us" if a.kind == "vendor" and a.name in ("NVIDIA", "AMD") else "cn"),
            "strategy": getattr(a, "strategy", ""),
            "alive": bool(a.alive),
            "cash_usd": led.usd(a.unique_id),
            "debt_usd": float(getattr(a, "debt_usd", 0.0)),
            "valuation_usd": float(getattr(a, "valuation_usd", 0.0)),
            "revenue_usd": float(getattr(a, "revenue_usd", 0.0) if a.kind != "vendor" else a.month_revenue_usd),
            "compute_h100e": compute,
            "price_usd_per_mtok": float(a.price_usd_per_mtok) if provider else None,
            "quality": float(a.quality) if provider else None,
            "served_mtok": float(a.served_mtok + (lite.served_mtok if lite else 0.0)) if provider else None,
            "capacity_mtok": float(a.capacity_mtok + (lite.capacity_mtok if lite else 0.0)) if provider else None,
        })


def check_invariants(model: ComputeEconomy) -> None:
    """Stock-flow and physical invariants; a breach raises InvariantError naming the month."""
    month = model.month_str
    model.ledger.check_balanced(month)
    owners = [o for o in model.owners if o.alive]
    check_non_negative(month, "GPU inventory", {f"{o.unique_id}:{c}": n for o in owners
                                                for c, n in (*o.fleet.items(), *o.unpowered.items())})
    check_at_most(month, "GPU chip-months sold vs offered", {o.unique_id: o.sold_chip_months for o in owners},
                  {o.unique_id: o.offered_chip_months for o in owners})
    provs = tokens.providers(model)
    check_at_most(month, "tokens served vs capacity", {f"{a.unique_id}:{a.tier}": a.served_mtok for a in provs},
                  {f"{a.unique_id}:{a.tier}": a.capacity_mtok for a in provs})
    check_finite_positive(month, "token prices", [(f"{a.unique_id}:{a.tier}", a.price_usd_per_mtok) for a in provs])
    check_finite_positive(month, "GPU-hour prices", sorted(model.gpu_price.items()))
    alive = [a for a in (*model.owners, *model.startups, *model.investors) if a.alive and hasattr(a, "valuation_usd")]
    check_finite_positive(month, "valuations", [(a.unique_id, a.valuation_usd) for a in alive
                                                if a.kind in ("startup", "neocloud", "vc", "corporate")])


def model_frame(model: ComputeEconomy) -> pl.DataFrame:
    if not model.model_rows:
        return pl.DataFrame(schema={c: (pl.Utf8 if c == "date" else pl.Float64) for c in MODEL_COLUMNS})
    return pl.DataFrame(model.model_rows).select(MODEL_COLUMNS).with_columns(
        pl.col("step", "n_startups_alive", "n_bankruptcies", "n_acquisitions", "n_neoclouds_alive").cast(pl.Int64))


AGENT_SCHEMA = {
    "step": pl.Int64, "agent_id": pl.Int64, "kind": pl.Utf8, "region": pl.Utf8, "strategy": pl.Utf8,
    "alive": pl.Boolean, "cash_usd": pl.Float64, "debt_usd": pl.Float64, "valuation_usd": pl.Float64,
    "revenue_usd": pl.Float64, "compute_h100e": pl.Float64, "price_usd_per_mtok": pl.Float64,
    "quality": pl.Float64, "served_mtok": pl.Float64, "capacity_mtok": pl.Float64,
}
EVENT_SCHEMA = {
    "step": pl.Int64, "date": pl.Utf8, "kind": pl.Utf8, "agent_id": pl.Int64, "counterparty_id": pl.Int64,
    "amount_usd": pl.Float64, "detail": pl.Utf8,
}


def agents_frame(model: ComputeEconomy) -> pl.DataFrame:
    return pl.DataFrame(model.agent_rows, schema=AGENT_SCHEMA)


def events_frame(model: ComputeEconomy) -> pl.DataFrame:
    return pl.DataFrame(model.events_log, schema=EVENT_SCHEMA)
