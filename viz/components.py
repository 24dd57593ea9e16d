"""The page's read-only parts: the clock, the headline numbers, the figures and the tables.

Each component reads Mesa's `update_counter`, which Mesa's ModelController bumps after
every Step (and every month while playing), so they redraw once per month.
"""

from __future__ import annotations

import solara
from mesa.visualization.utils import update_counter

from viz.model import VizEconomy
from viz.panels import Dashboard, money
from viz.tables import AGENT_HEADERS, EVENT_HEADERS, agent_rows, event_rows

FIGURE_TITLES = {
    "prices": "API price index and GPU-hour price",
    "compute": "Compute capacity and utilisation",
    "valuation": "Aggregate valuation vs revenue (red line: burst)",
    "structure": "Firm count and HHI",
}


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


@solara.component
def Headline(model: VizEconomy) -> None:
    update_counter.get()
    solara.Text(headline(model), classes=["aibubble-headline"], style={"font-size": "1.05em"})


@solara.component
def Figures(model: VizEconomy) -> None:
    """The four time series and the deal network, rendered once per month."""
    update_counter.get()
    dashboard = solara.use_memo(lambda: Dashboard(model.scenario.months, model.scenario.start), [model])
    images = solara.use_memo(
        lambda: dashboard.render(model.model_frame(), model.network.graph, model.agents_now()),
        [model, model.steps],
    )
    names = list(FIGURE_TITLES)
    for pair in (names[:2], names[2:]):
        with solara.Columns([1, 1]):
            for name in pair:
                with solara.Card(FIGURE_TITLES[name], classes=[f"aibubble-{name}"], margin=0):
                    solara.Image(images[name], format="svg+xml", width="100%")
    with solara.Columns([4, 5]):
        with solara.Card(f"Deal network, {model.month_str}", classes=["aibubble-network"], margin=0):
            solara.Text("node size: compute · colour: kind · grey: failed", style={"font-size": "0.8em"})
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
