"""The whole economy: invariants on every step, determinism, outputs and the network."""

from __future__ import annotations

import math

import polars as pl
import pytest

from scenarios.config import load_scenario
from scenarios.run import run, write_run
from world.collect import MODEL_COLUMNS
from world.ledger import InvariantError, Ledger
from world.model import ComputeEconomy

ISSUE3_COLUMNS = (
    "step", "date", "api_price_index_usd_per_mtok", "gpu_hour_price_usd", "token_volume_mtok",
    "token_demand_mtok", "unmet_demand_share", "compute_capacity_h100e", "compute_utilization",
    "n_startups_alive", "n_bankruptcies", "n_acquisitions", "hhi_compute", "hhi_tokens", "cr2_compute",
    "valuation_index_usd", "ai_revenue_usd", "capex_usd", "funding_usd", "sentiment",
)


@pytest.fixture(scope="module")
def baseline_model() -> ComputeEconomy:
    """36 months of the baseline; collect() checks every invariant after every step."""
    m = ComputeEconomy(load_scenario("baseline").params, seed=1)
    for _ in range(36):
        m.step()
    return m


def test_model_frame_has_issue3_columns_one_row_per_month(baseline_model: ComputeEconomy) -> None:
    f = baseline_model.model_frame()
    assert f.height == 36
    assert set(ISSUE3_COLUMNS) <= set(f.columns)
    assert f["step"].to_list() == list(range(36))
    assert f["date"][0] == "2023-01" and f["date"][35] == "2025-12"
    nums = f.select(pl.exclude("date"))
    assert all(math.isfinite(v) for col in nums.iter_columns() for v in col.to_list())


def test_ledger_sums_to_zero_and_records_the_economy(baseline_model: ComputeEconomy) -> None:
    led = baseline_model.ledger
    assert sum(led.balances.values()) == 0
    assert led.usd("customers") < 0  # customers paid for tokens
    assert led.usd("core_business") < 0  # hyperscalers' core cash flowed in


def test_markets_are_active(baseline_model: ComputeEconomy) -> None:
    f = baseline_model.model_frame()
    assert f["token_volume_mtok"].sum() > 0
    assert f["ai_revenue_usd"].sum() > 0
    assert f["capex_usd"].sum() > 0
    assert f["funding_usd"].sum() > 0
    kinds = set(baseline_model.events_frame()["kind"].to_list())
    assert {"funding_round", "policy:export_controls", "policy:rate_change"} <= kinds


def test_every_contract_event_moves_chips(baseline_model: ComputeEconomy) -> None:
    """A contract logged is a contract signed: no "0 x chip" events with nothing in them."""
    ev = baseline_model.events_frame().filter(pl.col("kind") == "compute_contract")
    assert ev.height > 0
    assert ev["amount_usd"].min() > 0, ev.sort("amount_usd").head(3)


def test_network_graph_and_circular_deals(baseline_model: ComputeEconomy) -> None:
    g = baseline_model.network.graph
    for _, d in g.nodes(data=True):
        assert {"kind", "alive", "compute_h100e"} <= set(d)
    for o in baseline_model.owners:  # node attributes follow the agents each month
        assert g.nodes[o.unique_id]["alive"] == o.alive
        if o.alive:
            assert g.nodes[o.unique_id]["compute_h100e"] == pytest.approx(o.compute_h100e())
    dead = [s for s in baseline_model.startups if not s.alive]
    assert all(g.nodes[s.unique_id]["alive"] is False for s in dead)
    deals = baseline_model.network.circular_deals()
    assert deals, "strategic rounds with compute commitments should show up as circular deals"
    assert all(d["returned_usd"] > 0 for d in deals)


def test_month_events_and_str(baseline_model: ComputeEconomy) -> None:
    assert baseline_model.month_str == "2025-12"
    ev = baseline_model.month_events(0)
    assert any(e["kind"] == "policy:export_controls" for e in ev)


def test_ledger_breach_names_month_and_accounts() -> None:
    led = Ledger()
    led.balances["lps"] = 5
    with pytest.raises(InvariantError, match="2024-03.*lps=5"):
        led.check_balanced("2024-03")
    with pytest.raises(InvariantError):
        led.transfer("lps", "staff", float("nan"), "bad")


def test_same_seed_identical_parquet_bytes_other_seed_differs(tmp_path) -> None:
    a = write_run(run("baseline", seed=3, months=18), tmp_path / "a")
    b = write_run(run("baseline", seed=3, months=18), tmp_path / "b")
    c = write_run(run("baseline", seed=4, months=18), tmp_path / "c")
    for name in ("model.parquet", "agents.parquet", "events.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "model.parquet").read_bytes() != (c / "model.parquet").read_bytes()


def test_write_run_outputs(tmp_path) -> None:
    res = run("baseline", seed=0, months=12)
    out = write_run(res, tmp_path / "r")
    for name in ("model.parquet", "agents.parquet", "events.parquet", "manifest.json", "report.md",
                 "prices.png", "compute.png", "valuation.png", "firms.png", "events.png"):
        assert (out / name).stat().st_size > 0, name
    assert pl.read_parquet(out / "model.parquet").columns == list(MODEL_COLUMNS)
    agents = pl.read_parquet(out / "agents.parquet")
    assert {"step", "agent_id", "kind", "alive", "cash_usd", "debt_usd", "valuation_usd", "revenue_usd",
            "compute_h100e", "price_usd_per_mtok"} <= set(agents.columns)
    assert set(agents["kind"].unique().to_list()) >= {"vendor", "hyperscaler", "neocloud", "state", "startup", "vc"}
    ev = pl.read_parquet(out / "events.parquet")
    assert ev.columns == ["step", "date", "kind", "agent_id", "counterparty_id", "amount_usd", "detail"]
    # rewriting replaces the old run and leaves no temp directories behind
    write_run(res, tmp_path / "r")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
