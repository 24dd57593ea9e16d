"""A networkx graph of equity stakes, compute contracts and funding flows.

Nodes are agent ids with attributes kind, alive and compute_h100e. Edges are typed
(`kind` = "equity", "compute", "funding", "parent") and accumulate `amount_usd`.
A circular deal is an investment whose money comes back to the investor (or the
investor's parent hyperscaler) as compute purchases by the startup it funded.
"""

from __future__ import annotations

import networkx as nx


class DealNetwork:
    """Who owns, funds and buys compute from whom."""

    def __init__(self) -> None:
        self.graph = nx.MultiDiGraph()

    def add_node(self, agent_id: int, kind: str) -> None:
        self.graph.add_node(agent_id, kind=kind, alive=True, compute_h100e=0.0)

    def update_node(self, agent_id: int, alive: bool, compute_h100e: float) -> None:
        node = self.graph.nodes[agent_id]
        node["alive"] = alive
        node["compute_h100e"] = compute_h100e

    def add_flow(self, src: int, dst: int, kind: str, amount_usd: float, step: int) -> None:
        """Add to the (src, dst, kind) edge; the first step and the running total are kept."""
        data = self.graph.get_edge_data(src, dst, key=kind)
        if data is None:
            self.graph.add_edge(src, dst, key=kind, kind=kind, amount_usd=amount_usd, first_step=step)
        else:
            data["amount_usd"] += amount_usd

    def circular_deals(self) -> list[dict[str, object]]:
        """Investments that return to the investor's group as compute purchases.

        For every equity edge investor -> startup, the investor's group is the investor and
        its parent (a corporate arm's hyperscaler). Compute purchases startup -> group count
        as the money coming back. Sorted by investor, then startup.
        """
        out = []
        for inv, st, key, d in sorted(self.graph.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2])):
            if key != "equity":
                continue
            group = [inv] + [p for p, _, k in self.graph.in_edges(inv, keys=True) if k == "parent"]
            back = sum(
                self.graph.edges[st, g, "compute"]["amount_usd"]
                for g in group if self.graph.has_edge(st, g, key="compute")
            )
            if back > 0:
                out.append({"investor": inv, "startup": st, "invested_usd": d["amount_usd"],
                            "returned_usd": back, "share": back / max(d["amount_usd"], 1.0)})
        return out
