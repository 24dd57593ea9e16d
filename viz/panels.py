"""The app's figures: persistent matplotlib (Agg) figures redrawn with each month's data.

A Step must answer within 300 ms including these renders. Building a matplotlib figure from
scratch costs ~50-100 ms here, most of it creating tick objects; updating the lines of a
figure that already exists and saving it costs ~30 ms. So each panel keeps its figure for
the life of one model run and only moves its data. No Solara here: the benchmark and the
tests render exactly what the page shows.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass

import matplotlib
import networkx as nx
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from world.metrics import detect_burst

DPI = 80
SERIES_SIZE_IN = (5.6, 2.7)
NETWORK_SIZE_IN = (5.6, 4.4)
FAILED_GREY = "#a8a8a8"
# Colour by agent kind; a kind not listed here is drawn in OTHER_COLOUR.
KIND_COLOURS = {
    "vendor": "#8c564b",
    "hyperscaler": "#1f77b4",
    "neocloud": "#17becf",
    "state": "#9467bd",
    "startup": "#ff7f0e",
    "vc": "#2ca02c",
    "corporate": "#bcbd22",
}
OTHER_COLOUR = "#7f7f7f"
# Deal types of world/network.py; "parent" ties a corporate investor to its hyperscaler. A
# type not listed here is drawn in OTHER_COLOUR.
EDGE_COLOURS = {
    "equity": "#2ca02c",
    "compute": "#1f77b4",
    "funding": "#d62728",
    "chips": "#8c564b",
    "parent": "#bcbd22",
    "acquisition": "#e377c2",
}


def svg(fig: Figure) -> bytes:
    """SVG bytes of a figure, as the page sends it to the browser.

    SVG with text left as text (the browser sets it) costs about half of a PNG here: Agg's
    glyph rasterising is most of a small figure's draw time.
    """
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg")
    return buf.getvalue()


def money(value: float, _pos: object = None) -> str:
    """A dollar amount with a unit suffix ($1.2B)."""
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"${value / div:.3g}{unit}"
    return f"${value:.3g}"


@dataclass(frozen=True)
class Line:
    """One plotted column of the model frame, times `factor`."""

    column: str
    label: str
    colour: str
    factor: float = 1.0
    style: str = "-"
    width: float = 1.4


@dataclass(frozen=True)
class SeriesSpec:
    """A time-series panel: lines on a left axis and, optionally, on a right axis.

    Title and legend are drawn by the page (as HTML), not in the figure: a matplotlib
    legend costs a fifth of a panel's redraw.
    """

    title: str
    left: tuple[Line, ...]
    left_label: str
    right: tuple[Line, ...] = ()
    right_label: str = ""
    left_log: bool = False
    left_money: bool = False
    right_limits: tuple[float, float] | None = None
    burst_column: str | None = None  # mark the burst of this column, if any


SERIES = {
    "prices": SeriesSpec(
        title="API price index and GPU-hour price",
        left=(Line("api_price_index_usd_per_mtok", "API price index $/Mtok", "#d62728"),),
        left_label="$/Mtok (log)",
        left_log=True,
        right=(Line("gpu_hour_price_usd", "GPU-hour $ (H100 class)", "#1f77b4"),),
        right_label="$/GPU-hour",
    ),
    "compute": SeriesSpec(
        title="Compute capacity and utilisation",
        left=(Line("compute_capacity_h100e", "capacity, M H100e", "#1f77b4", factor=1e-6),),
        left_label="M H100e",
        right=(Line("compute_utilization", "utilisation %", "#ff7f0e", factor=100.0),),
        right_label="%",
        right_limits=(0.0, 105.0),
    ),
    "valuation": SeriesSpec(
        title="Valuation vs revenue (red line: burst)",
        left=(
            Line("valuation_index_usd", "aggregate valuation", "#9467bd"),
            Line("ai_revenue_usd", "AI revenue x12", "#2ca02c", factor=12.0),
            Line("capex_usd", "AI capex x12", "#8c564b", factor=12.0, style="--", width=0.9),
        ),
        left_label="$ (log)",
        left_log=True,
        left_money=True,
        burst_column="valuation_index_usd",
    ),
    "structure": SeriesSpec(
        title="Firm count and HHI",
        left=(
            Line("n_startups_alive", "startups alive", "#ff7f0e"),
            Line("n_bankruptcies", "bankruptcies (cum.)", "#7f7f7f", style="--", width=0.9),
            Line("n_acquisitions", "acquisitions (cum.)", "#8c564b", style=":", width=0.9),
        ),
        left_label="firms",
        right=(
            Line("hhi_compute", "HHI compute", "#1f77b4"),
            Line("hhi_tokens", "HHI tokens", "#d62728"),
        ),
        right_label="HHI",
        right_limits=(0.0, 10_000.0),
    ),
}


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7.5 (times a power of ten) at or above `value`."""
    power = 10.0 ** np.floor(np.log10(value))
    return next(m * power for m in (1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0) if m * power >= value * (1 - 1e-12))


def _year_ticks(ax: Axes, months: int, start: str) -> None:
    """x runs over the whole scenario (so the plot fills as it runs), ticked each January."""
    ax.set_xlim(0, max(months - 1, 1))
    year0, month0 = int(start[:4]), int(start[5:7])
    ticks = list(range((13 - month0) % 12, months, 12))
    ax.set_xticks(ticks, [str(year0 + (month0 - 1 + t) // 12) for t in ticks], fontsize=8)


class SeriesPanel:
    """A persistent figure for one SeriesSpec; `update` moves its lines to the frame's data."""

    def __init__(self, spec: SeriesSpec, months: int, start: str) -> None:
        self.spec = spec
        self.fig = Figure(figsize=SERIES_SIZE_IN, dpi=DPI)
        self.fig.subplots_adjust(left=0.11, right=0.89, top=0.96, bottom=0.1)
        ax = self.fig.subplots()
        ax.tick_params(axis="both", labelsize=8)
        ax.grid(alpha=0.3)
        ax.set_ylabel(spec.left_label, fontsize=8)
        _year_ticks(ax, months, start)
        if spec.left_log:
            ax.set_yscale("log")
            ax.yaxis.set_minor_locator(NullLocator())  # minor ticks cost draw time
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        if spec.left_money:
            ax.yaxis.set_major_formatter(FuncFormatter(money))
        self.axes: list[tuple[Axes, tuple[Line, ...], tuple[float, float] | None]] = [(ax, spec.left, None)]
        if spec.right:
            ax2 = ax.twinx()
            ax2.set_ylabel(spec.right_label, fontsize=8)
            ax2.tick_params(axis="y", labelsize=8)
            self.axes.append((ax2, spec.right, spec.right_limits))
        self.lines: list[tuple[Line2D, Line]] = []
        for axis, lines, limits in self.axes:
            for line in lines:
                (artist,) = axis.plot([], [], color=line.colour, ls=line.style, lw=line.width, label=line.label)
                self.lines.append((artist, line))
            if limits:
                axis.set_ylim(*limits)
        self.burst_line = ax.axvline(0, color="#d62728", lw=1.5, visible=False)
        self.burst_text = ax.annotate("", (0, 0), xytext=(4, -12), textcoords="offset points", color="#d62728", fontsize=8)

    def update(self, frame: pl.DataFrame) -> bytes:
        """Redraw with the months in `frame` and return the PNG."""
        if frame.is_empty():  # no month simulated yet
            frame = pl.DataFrame({"step": [], "date": []})
        x = frame.get_column("step").to_numpy().astype(float)
        for artist, line in self.lines:
            y = frame.get_column(line.column).to_numpy().astype(float) * line.factor if x.size else x
            artist.set_data(x, y)
        for axis, _lines, limits in self.axes:
            if limits is None:
                low, high = self._limits(axis)
                axis.set_ylim(low, high)
                if axis.get_yscale() == "log":  # 1-2-5 labels over a short range, decades over a long one
                    subs = (1.0, 2.0, 5.0) if high / low < 300 else (1.0,)
                    axis.yaxis.set_major_locator(LogLocator(subs=subs))
        self._mark_burst(frame, x)
        return svg(self.fig)

    def _limits(self, axis: Axes) -> tuple[float, float]:
        """y range over the axis's lines, snapped to round values.

        Linear axes run from 0 to the next 1-1.5-2-3-5-7.5 step above the data; log axes
        span whole halves of decades. Snapped limits change only now and then, so the axes
        hold still while the user steps and the lines move against them.
        """
        data = [a.get_ydata() for a, _ in self.lines if a.axes is axis]
        y = np.concatenate(data) if data else np.array([])
        y = y[np.isfinite(y)]
        if axis.get_yscale() == "log":
            y = y[y > 0]
            if not y.size:
                return (1.0, 10.0)
            low, high = np.floor(2 * np.log10(y.min())) / 2, np.ceil(2 * np.log10(y.max())) / 2
            return (10.0**low, 10.0 ** max(high, low + 0.5))
        top = y.max() if y.size else 0.0
        return (0.0, _nice_ceiling(top * 1.05) if top > 0 else 1.0)

    def _mark_burst(self, frame: pl.DataFrame, x: np.ndarray) -> None:
        """A red line at the month the burst detector fires (world.metrics.detect_burst)."""
        column = self.spec.burst_column
        series = frame.get_column(column).to_numpy() if column and x.size else np.array([])
        # A non-finite value is the model's bug (its ledger checks catch it): draw, don't mark.
        burst = detect_burst(series) if series.size and np.isfinite(series).all() else None
        self.burst_line.set_visible(burst is not None)
        self.burst_text.set_visible(burst is not None)
        if burst is not None:
            self.burst_line.set_xdata([x[burst.month]] * 2)
            self.burst_text.xy = (x[burst.month], self.axes[0][0].get_ylim()[1])
            self.burst_text.set_text(f"burst {frame['date'][burst.month]} (-{burst.depth:.0%})")


def _edge_kind(data: dict) -> str:
    """An edge's deal type, under whichever attribute name the graph keeps it."""
    return str(data.get("kind", data.get("type", "")))


@dataclass(frozen=True)
class NodeState:
    """What the network panel draws of one agent this month."""

    alive: bool
    compute_h100e: float


def node_states(graph: nx.Graph, agents_now: pl.DataFrame) -> dict[object, NodeState]:
    """Alive and compute of every node this month.

    The agents frame at the latest step has a row for every live agent with its compute; a
    node without a row (or marked dead in the graph) has failed. Before the first month (no
    rows yet) the graph's own node attributes are used.
    """
    if agents_now.is_empty():
        return {
            n: NodeState(bool(d.get("alive", True)), float(d.get("compute_h100e") or 0.0))
            for n, d in graph.nodes(data=True)
        }
    compute = dict(zip(agents_now["agent_id"].to_list(), agents_now["compute_h100e"].fill_null(0.0).to_list(), strict=True))
    return {  # a failed firm keeps the size it had when it failed (the graph's last value)
        n: NodeState(True, float(compute[n])) if n in compute and d.get("alive", True)
        else NodeState(False, float(d.get("compute_h100e") or 0.0))
        for n, d in graph.nodes(data=True)
    }


class NetworkPanel:
    """The deal network: node area by compute, colour by agent kind, failed firms grey.

    Its legend is drawn by the page (network_legend_html), as the series panels' are.

    Node positions carry over from month to month (a few spring-layout iterations seeded
    with last month's positions), so the picture moves smoothly and the layout stays cheap.
    """

    def __init__(self) -> None:
        self.fig = Figure(figsize=NETWORK_SIZE_IN, dpi=DPI)
        self.fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01)
        self.ax = self.fig.subplots()
        self.ax.set_axis_off()
        self.pos: dict[object, np.ndarray] = {}

    def layout(self, graph: nx.Graph) -> dict[object, np.ndarray]:
        """Positions for this month, seeded from last month's; deals of any kind pull together."""
        n = graph.number_of_nodes()
        if n == 0:
            return {}
        known = {v: self.pos[v] for v in graph.nodes if v in self.pos}
        if len(known) == n:
            iterations = 3
        else:
            iterations = 20 if known else 50
        simple = nx.Graph(graph)  # one link per pair, whatever its kinds and directions
        self.pos = nx.spring_layout(simple, pos=known or None, k=2.0 / np.sqrt(n), iterations=iterations, seed=0)
        return self.pos

    def update(self, graph: nx.Graph, agents_now: pl.DataFrame) -> bytes:
        """Redraw the graph as it stands this month and return the SVG."""
        for artist in [*self.ax.collections, *self.ax.patches]:
            artist.remove()
        if graph.number_of_nodes():
            self._draw(graph, node_states(graph, agents_now), self.layout(graph))
        return svg(self.fig)

    def _draw(self, graph: nx.Graph, states: dict[object, NodeState], pos: dict) -> None:
        nodes = list(graph.nodes)
        compute = np.array([states[v].compute_h100e for v in nodes])
        top = compute.max()
        sizes = 12 + (400 * np.sqrt(compute / top) if top > 0 else 0.0 * compute)
        kinds = [str(graph.nodes[v].get("kind", "")) for v in nodes]
        colours = [
            KIND_COLOURS.get(k, OTHER_COLOUR) if states[v].alive else FAILED_GREY
            for v, k in zip(nodes, kinds, strict=True)
        ]
        by_kind: dict[str, list] = {}
        for u, v, d in graph.edges(data=True):
            by_kind.setdefault(_edge_kind(d), []).append((u, v))
        for kind in sorted(by_kind):
            nx.draw_networkx_edges(
                graph, pos, edgelist=by_kind[kind], ax=self.ax, arrows=False, alpha=0.3, width=0.6,
                edge_color=EDGE_COLOURS.get(kind, OTHER_COLOUR),
            )
        nx.draw_networkx_nodes(
            graph, pos, nodelist=nodes, node_size=sizes, node_color=colours, ax=self.ax,
            linewidths=0.3, edgecolors="#333333",
        )


class Dashboard:
    """All figures of one model run. Make a new one when the model is reset."""

    def __init__(self, months: int, start: str) -> None:
        self.series = {name: SeriesPanel(spec, months, start) for name, spec in SERIES.items()}
        self.network = NetworkPanel()

    def render(self, frame: pl.DataFrame, graph: nx.Graph, agents_now: pl.DataFrame) -> dict[str, bytes]:
        """SVG of every panel for the model's state now (agents_now: one row per live agent)."""
        images = {name: panel.update(frame) for name, panel in self.series.items()}
        images["network"] = self.network.update(graph, agents_now)
        return images


_CSS_DASH = {"-": "solid", "--": "dashed", ":": "dotted"}


def legend_html(spec: SeriesSpec) -> str:
    """The panel's legend as HTML: a line sample in each line's colour and style, its label."""
    items = [(line, "") for line in spec.left]
    items += [(line, " (right axis)") for line in spec.right]
    return "".join(
        '<span style="white-space: nowrap; margin-right: 1.2em">'
        f'<span style="display: inline-block; width: 1.8em; vertical-align: middle; '
        f'border-top: {max(1.0, line.width):.1f}px {_CSS_DASH.get(line.style, "solid")} {line.colour}"></span> '
        f"{html.escape(line.label)}{side}</span>"
        for line, side in items
    )


def network_legend_html() -> str:
    """Legend of the deal network: a dot per agent kind, a line per deal type."""
    dot = '<span style="white-space: nowrap; margin-right: 1em"><span style="color: {c}">&#9679;</span> {k}</span>'
    line = (
        '<span style="white-space: nowrap; margin-right: 1em"><span style="display: inline-block; width: 1.4em; '
        'vertical-align: middle; border-top: 2px solid {c}"></span> {k}</span>'
    )
    kinds = {**KIND_COLOURS, "failed": FAILED_GREY}
    return (
        "".join(dot.format(c=c, k=html.escape(k)) for k, c in kinds.items())
        + "<br>"
        + "".join(line.format(c=c, k=html.escape(f"{k} deal")) for k, c in EDGE_COLOURS.items())
    )
