"""aibubble's step-through page: `aibubble viz [SCENARIO] [--seed S]` serves it.

Mesa's ModelController gives the Step, Play/Pause and Reset buttons and Mesa's
`update_counter` drives the redraws, as in SolaraViz; the layout, the settings and the
panels are our own, because SolaraViz rebuilds a model from flat constructor keywords and
draws grid spaces, while this model has a scenario with nested parameters and no grid.
"""

from __future__ import annotations

import os

import solara
from mesa.visualization.solara_viz import ModelController

from scenarios.cli_viz import ENV_SCENARIO, ENV_SEED
from viz.components import AgentTable, Clock, Figures, Headline
from viz.controls import Settings
from viz.model import VizEconomy

PLAY_INTERVAL_MS = 100


def initial_settings() -> dict[str, object]:
    """Scenario and seed from the command line (environment), else the baseline, seed 0."""
    return {
        "scenario": os.environ.get(ENV_SCENARIO, "baseline"),
        "seed": int(os.environ.get(ENV_SEED, "0")),
    }

@solara.component
def Page() -> None:
    """The whole page; one model per browser session."""
    first = solara.use_memo(initial_settings, [])
    model = solara.use_reactive(solara.use_memo(lambda: VizEconomy(**first), []))
    settings = solara.use_reactive(first)
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)

    solara.Title("aibubble")
    with solara.AppBar():
        solara.AppBarTitle("aibubble: the AI compute economy, month by month")
        Clock(model.value)
    with solara.Sidebar():
        with solara.Card("Run", margin=0):
            ModelController(
                model,
                model_parameters=settings,
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=use_threads,
            )
        with solara.Card("Scenario", margin=0):
            Settings(settings)
    Headline(model.value)
    Figures(model.value)
    AgentTable(model.value)
