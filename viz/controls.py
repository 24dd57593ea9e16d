"""The settings card: scenario picker, seed and sliders for the key parameters.

The settings are one reactive dict shared with Mesa's ModelController, which passes it to
VizEconomy on Reset: {"scenario": ..., "seed": ..., plus the dotted path of every slider
the user moved}. Only moved sliders become overrides, so picking another scenario runs
that scenario's own values.
"""

from __future__ import annotations

from dataclasses import dataclass

import solara

from scenarios.config import library_names, load_scenario, parameter_paths


@dataclass(frozen=True)
class Knob:
    """A slider over one scenario parameter (its dotted path, as `--set` names it)."""

    path: str
    min: float
    max: float
    step: float
    integer: bool = False


# The parameters a user most wants to turn while watching a run; ranges lie inside the
# schema's bounds (world/params.py) and around the baseline values.
KNOBS = (
    Knob("investors.trend_strength", 0.0, 5.0, 0.05),
    Knob("investors.fundamental_multiple", 2.0, 60.0, 1.0),
    Knob("investors.lp_inflow_usd_per_month", 0.0, 3e10, 5e8),
    Knob("hyperscalers.capex_share_of_cash", 0.0, 1.0, 0.05),
    Knob("rates.base_rate", -0.01, 0.15, 0.005),
    Knob("markets.algorithmic_progress_per_year", 1.0, 10.0, 0.25),
    Knob("startups.n", 2, 120, 1, integer=True),
)


def scenario_values(scenario: str) -> dict[str, object]:
    """Every --set-able parameter of a scenario with its value."""
    return parameter_paths(load_scenario(scenario))


def scenario_choices(current: str) -> list[str]:
    """The library's scenarios, plus the one the app was started with if it is a file."""
    names = library_names()
    return names if current in names else [current, *names]


@solara.component
def Settings(settings: solara.Reactive[dict]) -> None:
    """Scenario, seed and key-parameter sliders; they take effect on Reset."""
    current = settings.value
    values = solara.use_memo(lambda: scenario_values(current["scenario"]), [current["scenario"]])

    def put(key: str, value: object) -> None:
        settings.value = {**settings.value, key: value}

    solara.Select(
        "scenario",
        values=scenario_choices(current["scenario"]),
        value=current["scenario"],
        on_value=lambda name: settings.set({"scenario": name, "seed": settings.value["seed"]}),
    )
    solara.InputInt("seed", value=current["seed"], on_value=lambda v: put("seed", max(0, int(v))))
    for knob in KNOBS:
        value = current.get(knob.path, values[knob.path])
        slider = solara.SliderInt if knob.integer else solara.SliderFloat
        # The name above the slider: long parameter paths would squeeze an inline label's slider.
        with solara.Column(gap="0px", classes=["aibubble-knob"]):
            solara.Text(f"{knob.path} = {value:g}", style={"font-size": "0.85em"})
            slider(
                "",
                value=value,
                min=knob.min,
                max=knob.max,
                step=knob.step,
                on_value=lambda v, path=knob.path: put(path, v),
                thumb_label=False,
            )
    solara.Text("Scenario, seed and sliders apply on Reset.", style={"font-size": "0.8em"})
