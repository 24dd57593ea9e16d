"""Rows for the page's tables: this month's agents and this month's events.

Numbers stay numbers (scaled to $M and rounded) so that the browser's table sorts them
numerically when a header is clicked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import polars as pl

# (header, key, source column, scale): money in $M, compute in H100-equivalents.
AGENT_COLUMNS = (
    ("Agent", "agent_id", "agent_id", None),
    ("Kind", "kind", "kind", None),
    ("Region", "region", "region", None),
    ("Strategy", "strategy", "strategy", None),
    ("Cash $M", "cash", "cash_usd", 1e-6),
    ("Runway (months)", "runway", "runway_months", 1.0),
    ("Valuation $M", "valuation", "valuation_usd", 1e-6),
    ("Revenue $M/month", "revenue", "revenue_usd", 1e-6),
    ("Price $/Mtok", "price", "price_usd_per_mtok", 1.0),
    ("Compute H100e", "compute", "compute_h100e", 1.0),
)
AGENT_HEADERS = [{"text": header, "value": key} for header, key, _column, _scale in AGENT_COLUMNS]
# Vuetify data-table headers of the event log.
EVENT_HEADERS = [
    {"text": "Kind", "value": "kind"},
    {"text": "Agent → counterparty", "value": "parties"},
    {"text": "Amount $M", "value": "amount"},
    {"text": "Detail", "value": "detail"},
]


def _number(value: object, scale: float) -> float | None:
    """Scaled and rounded to 3 significant figures; None for missing or non-finite values."""
    if value is None or not math.isfinite(float(value)):
        return None
    x = float(value) * scale
    return 0.0 if x == 0 else round(x, max(0, 2 - math.floor(math.log10(abs(x)))))


def agent_rows(agents_now: pl.DataFrame, runway: Mapping[int, float]) -> list[dict[str, object]]:
    """One row per live agent (`agents_now`: the agents frame at its latest step).

    `runway` (months of cash at the current burn, by agent id) comes from the live agents:
    the frame does not keep it.
    """
    rows = []
    for record in agents_now.iter_rows(named=True):
        record["runway_months"] = runway.get(record["agent_id"])
        row: dict[str, object] = {}
        for _header, key, column, scale in AGENT_COLUMNS:
            value = record.get(column)
            row[key] = str(value) if scale is None and value is not None else (
                None if value is None else _number(value, scale)
            )
        rows.append(row)
    return rows


def event_rows(events: list[dict]) -> list[dict[str, object]]:
    """The month's events (the model's month_events) as table rows."""
    return [
        {
            "n": i,
            "kind": str(e.get("kind", "")),
            "parties": " → ".join(str(e[k]) for k in ("agent_id", "counterparty_id") if e.get(k) is not None),
            "amount": _number(e.get("amount_usd"), 1e-6),
            "detail": str(e.get("detail", "")),
        }
        for i, e in enumerate(events)
    ]
