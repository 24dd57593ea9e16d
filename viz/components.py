"""The page's read-only parts: the clock, the headline numbers, the figures and the tables.

Each component reads Mesa's `update_counter`, which Mesa's ModelController bumps after
every Step (and every month while playing), so they redraw once per month.
"""

from __future__ import annotations

import numpy as np
import solara
from mesa.visualization.utils import update_counter

from viz.model import VizEconomy
from viz.panels import SERIES, Dashboard, legend_html, money, network_legend_html
from viz.tables import AGENT_HEADERS, EVENT_HEADERS, agent_rows, event_rows
from world.metrics import detect_burst


@solara.component
def Clock(model: VizEconomy) -> None:
    """The current month (YYYY-MM) and step, always in the app bar."""
    update_counter.get()
    solara.Text(
        f"{model.month_str} · step {model.steps}/{model.scenario.months}",
        classes=["aibubble-clock"],
        style={"font-size": "1.2em", "font-weight": "bold", "margin-left": "1em"},
    )


def headline(model: VizEconomy) -> str:
    """One line of the month's key numbers (also what the browser tests compare)."""
    frame = model.model_frame()
    if frame.is_empty():
        return f"{model.scenario.name}: no month simulated yet"
    row = frame.row(-1, named=True)
    return (
        f"startups alive {row['n_startups_alive']:.0f} · valuation {money(row['valuation_index_usd'])}"
        f" · AI revenue {money(row['ai_revenue_usd'])}/month · API {money(row['api_price_index_usd_per_mtok'])}/Mtok"
        f" · GPU-hour {money(row['gpu_hour_price_usd'])} · HHI compute {row['hhi_compute']:.0f}"
    )


def burst_note(model: VizEconomy) -> str | None:
    """A sentence on the burst, once world.metrics.detect_burst has fired on this run."""
    frame = model.model_frame()
    valuation = frame.get_column("valuation_index_usd").to_numpy() if frame.height else None
    if valuation is None or not np.isfinite(valuation).all():
        return None
    burst = detect_burst(valuation)
    if burst is None:
        return None
    dates = frame.get_column("date")
    return (
        f"Burst in {dates[burst.month]}: aggregate valuation fell {burst.depth:.0%} from its "
        f"{dates[burst.peak_month]} peak (trough {dates[burst.trough_month]} so far)."
    )


@solara.component
def Headline(model: VizEconomy) -> None:
    """The month's key numbers, and the burst once there is one."""
    update_counter.get()
    solara.Text(headline(model), classes=["aibubble-headline"], style={"font-size": "1.05em"})
    note = burst_note(model)
    if note:
        solara.Text(note, classes=["aibubble-burst"], style={"color": "#d62728", "font-weight": "bold"})


@solara.component
def Figures(model: VizEconomy) -> None:
    """The four time series and the deal network, rendered once per month."""
    update_counter.get()
    dashboard = solara.use_memo(lambda: Dashboard(model.scenario.months, model.scenario.start), [model])
    images = solara.use_memo(
        lambda: dashboard.render(model.model_frame(), model.network.graph, model.agents_now()),
        [model, model.steps],
    )
    names = list(SERIES)
    for pair in (names[:2], names[2:]):
        with solara.Columns([1, 1]):
            for name in pair:
                with solara.Card(SERIES[name].title, classes=[f"aibubble-{name}"], margin=0):
                    solara.HTML(tag="div", unsafe_innerHTML=legend_html(SERIES[name]), style="font-size: 0.8em")
                    solara.Image(images[name], format="svg+xml", width="100%")
    with solara.Columns([4, 5]):
        with solara.Card(f"Deal network, {model.month_str}", classes=["aibubble-network"], margin=0):
            solara.Text("node size: compute · colour: kind · grey: failed", style={"font-size": "0.8em"})
            solara.HTML(tag="div", unsafe_innerHTML=network_legend_html(), style="font-size: 0.8em")
            solara.Image(images["network"], format="svg+xml", width="100%")
        with solara.Card(f"Events of {model.month_str}", classes=["aibubble-events"], margin=0):
            EventLog(model)


@solara.component
def EventLog(model: VizEconomy) -> None:
    """Rounds, bankruptcies, acquisitions and policy events of the month just simulated."""
    update_counter.get()
    rows = event_rows(model.month_events(model.steps - 1)) if model.steps else []
    if not rows:
        solara.Text("No events this month." if model.steps else "Press Step or Play to start.")
        return
    solara.v.DataTable(
        headers=EVENT_HEADERS,
        items=rows,
        item_key="n",
        items_per_page=10,
        dense=True,
        footer_props={"items-per-page-options": [10, 25, -1]},
    )


@solara.component
def AgentTable(model: VizEconomy) -> None:
    """Every agent now; click a header to sort."""
    update_counter.get()
    rows = solara.use_memo(lambda: agent_rows(model.agents_now(), model.runways()), [model, model.steps])
    with solara.Card("Agents (click a column to sort)", classes=["aibubble-agents"], margin=0):
        solara.v.DataTable(
            headers=AGENT_HEADERS,
            items=rows,
            item_key="agent_id",
            items_per_page=15,
            dense=True,
            sort_by="valuation",
            sort_desc=True,
            footer_props={"items-per-page-options": [15, 50, -1]},
        )
