"""The initial population: vendors from the catalog, owners, startups and investors.

Sizes and spreads are drawn from the model's "setup" and "startups" streams, so one seed
gives one world; counts come from the parameters (the benchmark scales them 10x, 100x).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from agents.hyperscaler import Hyperscaler
from agents.investor import Investor
from agents.startup import STRATEGIES, Startup
from agents.vendor import ChipVendor
from hardware_models import specs

if TYPE_CHECKING:
    from world.model import ComputeEconomy

# Initial fleets by (variant, region): chip mix in H100e shares. Assumptions from F19
# (2023 buyers held A100s and first H100s; Chinese clouds A100/H800 and Ascend; state
# centres domestic chips).
INITIAL_MIX = {
    ("hyperscaler", "us"): {"h100-sxm": 0.4, "a100-80gb-sxm": 0.6},
    ("hyperscaler", "cn"): {"a100-80gb-sxm": 0.6, "ascend-910b": 0.4},
    ("neocloud", "us"): {"h100-sxm": 0.5, "a100-80gb-sxm": 0.5},
    ("neocloud", "cn"): {"a100-80gb-sxm": 1.0},
    ("state", "cn"): {"ascend-910b": 0.5, "mlu370-x8": 0.5},
    ("state", "us"): {"a100-80gb-sxm": 1.0},
}


def populate(model: ComputeEconomy) -> None:
    """Create every agent, open its ledger account and graph node, give it its start."""
    p = model.p
    rng = model.streams["setup"]
    by_vendor: dict[str, list[str]] = {}
    for cid in sorted(specs.chips()):
        by_vendor.setdefault(specs.get_chip(cid).vendor, []).append(cid)
    for name in sorted(by_vendor):
        cap = p.vendors.nvidia_units_per_month if name == "NVIDIA" else p.vendors.other_units_per_month
        _add(model, model.vendors, ChipVendor(model, name, by_vendor[name], cap))

    plan = ([("hyperscaler", "us")] * p.hyperscalers.n_us + [("hyperscaler", "cn")] * p.hyperscalers.n_cn
            + [("neocloud", "us")] * p.hyperscalers.n_neocloud + [("state", "cn")] * p.hyperscalers.n_state)
    for variant, region in plan:
        scale = math.exp(0.3 * rng.standard_normal()) * (0.4 if region == "cn" else 1.0)
        o = _add(model, model.owners, Hyperscaler(model, region, variant, scale))
        _endow_owner(model, o)

    n_cn = round(p.investors.n_vc * p.investors.cn_share)
    regions = ["cn"] * n_cn + ["us"] * (p.investors.n_vc - n_cn)
    shares = lp_region_shares(p.investors.cn_share, regions)
    funds_in = {"cn": n_cn, "us": p.investors.n_vc - n_cn}
    for region in regions:
        inv = _add(model, model.investors, Investor(model, "vc", region=region))
        model.ledger.transfer("lps", inv.unique_id,
                              p.investors.lp_inflow_usd_per_month * 12 * shares[region] / funds_in[region]
                              * math.exp(0.5 * rng.standard_normal()), "lp_commitment")
    for o in list(model.owners):
        if o.variant == "hyperscaler":
            arm = _add(model, model.investors, Investor(model, "corporate", parent=o))
            model.network.add_flow(o.unique_id, arm.unique_id, "parent", 0.0, 0)

    # investors are all created here, before any startup: index the VCs once
    vcs = [i for i in model.investors if i.kind == "vc"]
    model.vcs_by_region = {"all": vcs, "us": [i for i in vcs if i.region == "us"],
                           "cn": [i for i in vcs if i.region == "cn"]}
    srng = model.streams["startups"]
    for _ in range(p.startups.n):
        region = "cn" if srng.random() < p.startups.cn_share else "us"
        new_startup(model, region)


def lp_region_shares(cn_share: float, regions: list[str]) -> dict[str, float]:
    """Each region's share of LP money: `cn_share` to the CN funds, the rest to the US ones;
    a region without funds leaves its share to the other (LPs commit to funds that exist)."""
    w = {"cn": cn_share if "cn" in regions else 0.0, "us": 1.0 - cn_share if "us" in regions else 0.0}
    total = sum(w.values())
    return {r: (v / total if total > 0 else 0.0) for r, v in w.items()}


def strategy_draw(model: ComputeEconomy) -> str:
    sp = model.p.startups
    w = [sp.share_frontier, sp.share_efficiency, sp.share_vertical, sp.share_wrapper]
    tot = sum(w)
    probs = [x / tot for x in w] if tot > 0 else [0.25] * 4
    return str(model.streams["startups"].choice(list(STRATEGIES), p=probs))


def new_startup(model: ComputeEconomy, region: str) -> Startup:
    """A startup with its first institutional round.

    A VC of its region leads with up to a quarter of its dry powder. Firms present at the
    start also hold the capital they raised before 2023 (from the "founders" account:
    earlier rounds and strategic money outside the model); entrants have only what the
    VC pays.
    """
    s = _add(model, model.startups, Startup(model, region, strategy_draw(model)))
    srng = model.streams["startups"]
    mult = model.p.startups.frontier_cash_multiple if s.strategy == "frontier" else STRATEGIES[s.strategy][5]
    target = model.p.startups.initial_cash_usd * mult * math.exp(0.5 * srng.standard_normal())
    vcs = model.vcs_by_region.get(region) or model.vcs_by_region.get("all", [])
    lead = vcs[int(srng.integers(len(vcs)))] if vcs else None
    paid = 0.0
    if lead is not None:
        ticket = min(target, 0.25 * max(model.ledger.usd(lead.unique_id), 0.0))
        paid = model.ledger.transfer(lead.unique_id, s.unique_id, ticket, "seed_round") / 100
    if model.steps == 0 and target > paid:
        model.ledger.transfer("founders", s.unique_id, target - paid, "pre_2023_capital")
    cash = model.ledger.usd(s.unique_id)
    post = cash / 0.3  # assumption: outside investors own ~30% after the first institutional round
    if lead is not None and paid > 0:
        s.stakes[lead.unique_id] = 0.3 * paid / cash
        model.network.add_flow(lead.unique_id, s.unique_id, "equity", paid, model.t)
        lead.invested_usd += paid
        lead.add_holding(s)
    s.last_post_usd = post
    s.narrative_arr_usd = post / max(s.market_multiple(), 1e-9)
    s.valuation_usd = max(post, 1e6)
    s.last_round_step = model.t
    s.plan_burn()
    if model.steps > 0 and paid > 0:  # an entrant's first round is venture funding of the month
        model.record_funding(paid)
    model.log_event("entry", s, lead, paid, s.strategy)
    return s


def _add(model: ComputeEconomy, bucket: list, agent):
    bucket.append(agent)
    model.ledger.open(agent.unique_id)
    model.network.add_node(agent.unique_id, agent.kind)
    return agent


def _endow_owner(model: ComputeEconomy, o: Hyperscaler) -> None:
    hp = model.p.hyperscalers
    h100e = {"hyperscaler": hp.initial_h100e, "neocloud": hp.neocloud_initial_h100e,
             "state": hp.initial_h100e * 0.2}[o.variant] * o.scale
    for chip_id, share in INITIAL_MIX[(o.variant, o.region)].items():
        units = int(h100e * share / model.h100e(chip_id))
        cost = units * specs.get_chip(chip_id).price_usd * 0.8  # assumption: bought 2021-22, 20% depreciated
        o.receive(chip_id, units, cost)
    # assumption: 2023 owners had 30% spare powered space and builds from 2022 that add
    # half their fleet's power in the first year
    need = o.mw_needed(o.unpowered)
    o.power_mw = need * 1.3
    o.construction.append((6, need * 0.25))
    o.construction.append((12, need * 0.25))
    o.power_up()
    if o.variant == "hyperscaler":
        model.ledger.transfer("core_business", o.unique_id, hp.core_cash_flow_usd_per_month * o.scale * 6, "opening_cash")
    elif o.variant == "neocloud":
        model.ledger.transfer("lps", o.unique_id, 1e9 * o.scale, "opening_equity")
    else:
        model.ledger.transfer("government", o.unique_id, model.state_subsidy * o.scale * 3, "opening_subsidy")
