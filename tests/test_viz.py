"""The viz app without a browser: the `aibubble viz` command's checks, figures, table rows."""

from __future__ import annotations

import socket
import subprocess
import sys
import warnings
from types import SimpleNamespace

import networkx as nx
import numpy as np
import polars as pl
import pytest
from viz_server import REPO, free_port

from scenarios.cli_viz import server_command
from scenarios.config import load_scenario, parameter_paths
from viz.controls import KNOBS
from viz.panels import (
    SERIES,
    Dashboard,
    NodeState,
    SeriesPanel,
    legend_html,
    network_legend_html,
    node_states,
)
from viz.tables import agent_rows, event_rows

with warnings.catch_warnings():  # solara's hook linter warns about mesa's SolaraViz code on import
    warnings.simplefilter("ignore", UserWarning)
    from viz.components import burst_note

COLUMNS = sorted({line.column for spec in SERIES.values() for line in (*spec.left, *spec.right)})


def frame(valuation: list[float]) -> pl.DataFrame:
    """A model frame with every plotted column; the valuation path is given."""
    n = len(valuation)
    data: dict[str, object] = {c: np.linspace(1.0, 2.0, n) for c in COLUMNS}
    data["valuation_index_usd"] = valuation
    return pl.DataFrame({"step": np.arange(n), "date": [f"{2023 + i // 12}-{i % 12 + 1:02d}" for i in range(n)], **data})


def test_burst_is_marked_only_when_the_detector_fires() -> None:
    boom_bust = [1e12, 2e12, 3e12, 4e12, 1.5e12]  # x4 run-up, then -62%: a burst at month 4
    steady = [1e12, 1.1e12, 1.2e12, 1.3e12, 1.25e12]
    panel = SeriesPanel(SERIES["valuation"], months=96, start="2023-01")
    panel.update(frame(boom_bust))
    assert panel.burst_line.get_visible()
    assert panel.burst_line.get_xdata()[0] == 4
    assert "2023-05" in panel.burst_text.get_text()
    panel.update(frame(steady))
    assert not panel.burst_line.get_visible()


def test_the_burst_is_named_in_words_once_it_happens() -> None:
    def run(valuation: list[float]) -> SimpleNamespace:
        return SimpleNamespace(model_frame=lambda: frame(valuation))

    note = burst_note(run([1e12, 2e12, 3e12, 4e12, 1.5e12]))
    assert note == "Burst in 2023-05: aggregate valuation fell 62% from its 2023-04 peak (trough 2023-05 so far)."
    assert burst_note(run([1e12, 1.1e12, 1.2e12])) is None
    assert burst_note(SimpleNamespace(model_frame=pl.DataFrame)) is None


def test_lines_follow_the_frame_and_axes_hold_the_data() -> None:
    panel = SeriesPanel(SERIES["prices"], months=96, start="2023-01")
    data = frame([1e12] * 6)
    panel.update(data)
    (api, _), (gpu, _) = panel.lines
    assert list(api.get_xdata()) == [0, 1, 2, 3, 4, 5]
    low, high = api.axes.get_ylim()
    assert low <= data["api_price_index_usd_per_mtok"].min() and high >= data["api_price_index_usd_per_mtok"].max()
    assert gpu.axes.get_ylim()[1] >= data["gpu_hour_price_usd"].max()


def test_dashboard_renders_every_panel_from_an_empty_and_a_full_month() -> None:
    graph = nx.Graph()
    graph.add_node("a", kind="startup", alive=True, compute_h100e=10.0)
    graph.add_node("b", kind="investor", alive=False, compute_h100e=0.0)
    graph.add_edge("a", "b", kind="equity")
    dash = Dashboard(months=96, start="2023-01")
    empty = dash.render(pl.DataFrame(), nx.Graph(), pl.DataFrame())
    full = dash.render(frame([1e12, 2e12]), graph, pl.DataFrame({"agent_id": ["a"], "compute_h100e": [10.0]}))
    assert set(full) == {*SERIES, "network"}
    for name, svg in full.items():
        assert svg.startswith(b"<?xml") and b"<svg" in svg, name
    assert full["network"] != empty["network"]
    assert full["prices"] != empty["prices"]


def test_agent_rows_are_numbers_in_sortable_units() -> None:
    agents_now = pl.DataFrame(
        {
            "step": [2, 2],
            "agent_id": [7, 8],
            "kind": ["startup", "investor"],
            "alive": [True, True],
            "cash_usd": [2_345_678.0, 0.0],
            "valuation_usd": [1.5e9, None],
        }
    )
    rows = agent_rows(agents_now, runway={7: 14.04})
    assert [r["agent_id"] for r in rows] == ["7", "8"]
    assert rows[0]["cash"] == 2.35  # $M, three significant figures, still a number
    assert rows[0]["valuation"] == 1500.0
    assert rows[1]["valuation"] is None
    assert rows[0]["runway"] == 14.0 and rows[1]["runway"] is None
    assert rows[0]["price"] is None  # a column the frame lacks stays empty


def test_network_nodes_take_compute_and_failure_from_the_live_agents() -> None:
    graph = nx.MultiDiGraph()
    for node, kind in ((1, "hyperscaler"), (2, "startup"), (3, "vc"), (4, "startup")):
        graph.add_node(node, kind=kind, alive=True, compute_h100e=0.0)
    graph.nodes[2]["compute_h100e"] = 700.0  # its compute when it failed
    graph.nodes[4]["alive"] = False
    agents_now = pl.DataFrame({"agent_id": [1, 3, 4], "compute_h100e": [5e4, None, 9.0]})
    states = node_states(graph, agents_now)
    assert states[1] == NodeState(alive=True, compute_h100e=5e4)
    assert states[2] == NodeState(alive=False, compute_h100e=700.0)  # no row this month: failed
    assert states[3] == NodeState(alive=True, compute_h100e=0.0)
    assert states[4].alive is False  # the graph says so
    before_first_month = node_states(graph, pl.DataFrame())
    assert [s.alive for s in before_first_month.values()] == [True, True, True, False]


def test_event_rows_keep_each_event() -> None:
    events = [
        {"kind": "funding_round", "agent_id": 3, "counterparty_id": 9, "amount_usd": 2.5e8, "detail": "up round"},
        {"kind": "bankruptcy", "agent_id": 4, "counterparty_id": None, "amount_usd": None, "detail": ""},
    ]
    rows = event_rows(events)
    assert [r["kind"] for r in rows] == ["funding_round", "bankruptcy"]
    assert rows[0]["amount"] == 250.0 and rows[1]["amount"] is None
    assert rows[0]["parties"] == "3 → 9" and rows[1]["parties"] == "4"


def viz_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scenarios.cli", "viz", *args],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("no-such-scenario",), "no-such-scenario"),
        (("baseline", "--port", "70000"), "--port 70000"),
        (("baseline", "--seed", "-1"), "--seed -1"),
    ],
)
def test_viz_command_rejects_bad_input_before_starting(args: tuple[str, ...], says: str) -> None:
    proc = viz_cli(*args, *(() if "--port" in args else ("--port", str(free_port()))))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error:") and says in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "http://" not in proc.stdout  # nothing was started


def test_viz_command_rejects_a_port_in_use() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = viz_cli("baseline", "--port", str(port))
    assert proc.returncode == 2
    assert f"--port {port}" in proc.stderr and "not free" in proc.stderr


def test_every_slider_names_a_real_parameter_inside_its_range() -> None:
    values = parameter_paths(load_scenario("baseline"))
    for knob in KNOBS:
        assert knob.path in values, f"{knob.path} is not a scenario parameter"
        assert knob.min <= values[knob.path] <= knob.max, knob
        load_scenario("baseline", {knob.path: knob.max})  # the slider's far end is valid


def test_the_server_listens_on_this_machine_only_and_never_asks_pypi() -> None:
    cmd = server_command(8765)
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"
    assert "--no-check-version" in cmd and "--no-open" in cmd
    assert cmd[cmd.index("run") + 1].endswith("viz/app.py")


def test_legends_name_every_line_in_its_colour() -> None:
    for spec in SERIES.values():
        legend = legend_html(spec)
        for line in (*spec.left, *spec.right):
            assert line.label in legend and line.colour in legend
        assert legend.count("(right axis)") == len(spec.right)
    assert "failed" in network_legend_html() and "compute deal" in network_legend_html()
