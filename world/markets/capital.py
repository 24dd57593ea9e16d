"""Capital market: Brock-Hommes expectations, syndicated rounds, up/flat/down pricing.

The sentiment state x is the log deviation of the market's EV/revenue multiple from its
fundamental value. Two forecasting rules compete (Brock and Hommes 1998, "Heterogeneous
beliefs and routes to chaos in a simple asset pricing model"): fundamentalists expect the
deviation to vanish (f_f = v x, v = 0 in the paper) and pay a small cost for their
analysis; trend followers extrapolate it (f_c = g x). The market sets
x_t = (n_c f_c + (1 - n_c) f_f) / R + news + noise with R = 1 + rate/12. Each rule's
fitness is its realised profit, (x_t - R x_{t-1}) (f_h - R x_{t-1}), with memory; the share
of trend followers is the logit exp(beta U_c) / (exp(beta U_f) + exp(beta U_c)).
With g > R and a high beta, the switching alone produces bubbles and crashes in some
seeds and calm in others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from world import setup
from world.markets import gpu_hours

if TYPE_CHECKING:
    from world.model import ComputeEconomy

# Profits are per unit position on the log deviation; the scale makes beta comparable
# across parameter sets (assumption: a 10% move pays 1 unit).
PROFIT_SCALE = 10.0
X_LIMIT = 1.5
DEALS_LOOKED_AT = 20  # assumption: a fund screens about 20 raising startups a month  # the multiple stays within exp(+-1.5) = 0.22x .. 4.5x of fundamental


@dataclass
class CapitalState:
    """The market-wide expectation state, advanced once a month."""

    x: list[float] = field(default_factory=lambda: [0.0, 0.0])
    fitness_fund: float = 0.0
    fitness_trend: float = 0.0
    trend_share: float = 0.5
    fundamental_forecast: float = 0.0
    trend_forecast: float = 0.0


def forecasts(x1: float, reversion: float, trend: float) -> tuple[float, float]:
    """(fundamentalist, trend-follower) forecasts of this month's deviation."""
    return reversion * x1, trend * x1


def trend_share(fitness_fund: float, fitness_trend: float, intensity: float, enabled: bool) -> float:
    """Brock-Hommes discrete choice: logit of the two rules' fitness."""
    if not enabled:
        return 0.0
    d = max(min(intensity * (fitness_trend - fitness_fund), 50.0), -50.0)
    return 1.0 / (1.0 + math.exp(-d))


def step(state: CapitalState, news: float, noise: float, reversion: float, trend: float,
         intensity: float, memory: float, cost: float, rate: float, enabled: bool) -> CapitalState:
    """Advance x one month.

    Args:
        news: log change of fundamentals the market learns this month (failures, surprises).
        noise: a draw from the sentiment noise stream.
        cost: fundamentalists' cost of analysis, in fitness units per month.
        rate: the annual policy rate (the discount factor R = 1 + rate/12).
    """
    r = 1.0 + rate / 12.0
    x1 = state.x[-1]
    share = trend_share(state.fitness_fund, state.fitness_trend, intensity, enabled)
    f_fund, f_trend = forecasts(x1, reversion, trend)
    x = ((1 - share) * f_fund + share * f_trend) / r + news + noise
    x = float(np.clip(x, -X_LIMIT, X_LIMIT))
    gain = (x - r * x1) * PROFIT_SCALE
    fit_f = gain * (f_fund - r * x1) - cost + memory * state.fitness_fund
    fit_c = gain * (f_trend - r * x1) + memory * state.fitness_trend
    nxt_f, nxt_c = forecasts(x, reversion, trend)
    return CapitalState(x=[x1, x], fitness_fund=fit_f, fitness_trend=fit_c,
                        trend_share=trend_share(fit_f, fit_c, intensity, enabled),
                        fundamental_forecast=nxt_f, trend_forecast=nxt_c)


def lp_inflow(base_usd: float, rate: float, neutral_rate: float, rate_sensitivity: float,
              trailing_return: float, return_sensitivity: float) -> float:
    """LP commitments this month: fall with rates above neutral, chase trailing returns."""
    f = math.exp(-rate_sensitivity * (rate - neutral_rate)) * max(1.0 + return_sensitivity * trailing_return, 0.0)
    return base_usd * min(f, 5.0)


def syndicate(ask_usd: float, quotes: np.ndarray, tickets: np.ndarray, ids: np.ndarray,
              tolerance: float = 0.25) -> tuple[float, np.ndarray]:
    """Price and fill a round.

    The lead is the highest pre-money quote (lower id on ties); the round is priced at the
    lead's quote; investors whose own quote is within `tolerance` below the lead's join,
    in quote order, each up to its ticket, until the ask is filled.

    Returns:
        (pre-money valuation, amount per investor in input order); (nan, zeros) if none.
    """
    quotes, tickets = np.asarray(quotes, float), np.asarray(tickets, float)
    fills = np.zeros(quotes.size)
    if quotes.size == 0:
        return math.nan, fills
    order = np.lexsort((np.asarray(ids), -quotes))
    pre = float(quotes[order[0]])
    left = ask_usd
    for k in order:
        if quotes[k] < pre * (1 - tolerance) or left <= 0:
            break
        fills[k] = min(tickets[k], left)
        left -= fills[k]
    return pre, fills


def round_kind(pre_money_usd: float, last_post_usd: float, band: float = 0.05) -> str:
    """'first', 'up', 'flat' or 'down' against the last post-money valuation."""
    if last_post_usd <= 0:
        return "first"
    r = pre_money_usd / last_post_usd
    return "up" if r > 1 + band else "down" if r < 1 - band else "flat"


def round_closes(raised_usd: float, ask_usd: float, needed: bool, min_fill_needed: float,
                 min_fill_optional: float) -> bool:
    """Whether a book of `raised_usd` closes a round asking `ask_usd`: a round the lab must
    raise needs `min_fill_needed` of its ask; one raised by choice is sized by the book and
    closes from `min_fill_optional` of it."""
    return raised_usd >= (min_fill_needed if needed else min_fill_optional) * ask_usd


def run(model: ComputeEconomy) -> None:
    """The month's capital market: sentiment, LP inflows, rounds, circular deals, entry."""
    ip = model.p.investors
    _update_sentiment(model)
    _lp_inflows(model)
    for inv in model.investors:
        inv.choose_rule()
    seekers = [s for s in model.startups if s.alive and s.wants_funding()]
    if seekers:
        _rounds(model, seekers)
    _entry(model)
    model.month["trend_share"] = model.capital.trend_share if ip.trend_following else 0.0


def _update_sentiment(model: ComputeEconomy) -> None:
    """Fundamental multiple from aggregate revenue growth; x from Brock-Hommes plus news."""
    ip = model.p.investors
    rev = [row["ai_revenue_usd"] for row in model.model_rows]
    g = 0.0
    if len(rev) >= 24:  # year-on-year growth of trailing 12-month revenue
        g = float(np.clip(sum(rev[-12:]) / max(sum(rev[-24:-12]), 1.0) - 1.0, 0.0, 2.0))
    model.fundamental_multiple = ip.fundamental_multiple * (1.0 + ip.growth_premium * g) / (1.0 + ip.growth_premium)
    news = distress_news(model.events_log, model.t - 1, len(model.startups_alive()))
    noise = ip.sentiment_noise_sd * model.streams["capital"].standard_normal()
    model.capital = step(model.capital, news, noise, ip.reversion, ip.trend_strength,
                         ip.switching_intensity, ip.fitness_memory, ip.fundamentalist_cost, model.rate,
                         ip.trend_following)
    x = model.capital.x[-1]
    model.market_multiple = model.fundamental_multiple * math.exp(x)
    model.sentiment_factor = float(np.clip(math.exp(x), 0.2, 3.0))


def distress_news(events: list[dict], step: int, alive: int) -> float:
    """Sentiment news from the firms that went bankrupt or fire-sold chips in `step`.

    Each firm is one piece of news, however many events it logged (a fire sale logs each
    chip class apart); assumption: each failure in 10% of the field costs 5% of sentiment.
    """
    firms = {e["agent_id"] for e in events if e["step"] == step and e["kind"] in ("bankruptcy", "fire_sale")}
    return -0.5 * len(firms) / max(alive, 1)


def _lp_inflows(model: ComputeEconomy) -> None:
    """LPs commit to VC funds with rates and trailing returns: `investors.cn_share` of the
    money to the CN funds, the rest to the US ones; within a region, better funds get more."""
    ip, rp = model.p.investors, model.p.rates
    vals = [row["valuation_index_usd"] for row in model.model_rows]
    trailing = vals[-1] / vals[-13] - 1.0 if len(vals) >= 13 and vals[-13] > 0 else 0.0
    total = lp_inflow(ip.lp_inflow_usd_per_month, model.rate, rp.neutral_rate, ip.lp_rate_sensitivity,
                      float(np.clip(trailing, -1.0, 3.0)), ip.lp_return_sensitivity)
    vcs = model.vcs_by_region["all"]
    regions = [i.region for i in vcs]
    for region, region_share in setup.lp_region_shares(ip.cn_share, regions).items():
        funds = model.vcs_by_region[region]
        if not funds or region_share <= 0:
            continue
        w = np.array([max(i.nav_usd, 1.0) for i in funds])
        for inv, share in zip(funds, w / w.sum()):
            model.ledger.transfer("lps", inv.unique_id, total * region_share * share, "lp_inflow")
    model.month["lp_inflow_usd"] = total


def _rounds(model: ComputeEconomy, seekers: list) -> None:
    """Investors pick deals (logit on score with herding), then each round is syndicated.

    A round a lab must raise closes only if the book covers `min_fill_needed` of the ask; a
    round it raises by choice (opportunistic or pre-emptive) is sized by the book: it takes
    what the syndicate offers at the lead's price once that reaches `min_fill_optional`
    (mega-rounds are sized to demand, F26: OpenAI's $40bn of 2025).
    """
    ip = model.p.investors
    rng = model.streams["capital"]
    offers: dict[int, list[tuple[object, float, float]]] = {s.unique_id: [] for s in seekers}
    by_region = {r: [s for s in seekers if s.region == r] for r in ("us", "cn")}
    # what each seeker asks, and whether it must raise: fixed for the month's rounds
    terms = {s.unique_id: (s.funding_ask_usd(), s.needs_funding()) for s in seekers}
    for inv in model.investors:
        budget = inv.budget_usd()
        pool = by_region[inv.region]
        if budget <= 1e5 or not pool:
            continue
        if inv.kind == "corporate":
            pool = [s for s in pool if s.strategy in ("frontier", "efficiency")] or pool
        if len(pool) > DEALS_LOOKED_AT:  # a fund looks at a sample of the deal flow
            pool = [pool[k] for k in sorted(rng.choice(len(pool), DEALS_LOOKED_AT, replace=False))]
        score = np.array([inv.score(s) for s in pool])
        w = np.exp(score - score.max())
        k = int(rng.choice(len(pool), p=w / w.sum()))
        s = pool[k]
        ask = terms[s.unique_id][0]
        quote = inv.quote(s)
        if quote < ask * ip.min_pre_money_to_ask:
            continue  # the round would hand over too much of the company: no offer
        share = ip.corporate_share_of_round if inv.kind == "corporate" else 0.5
        offers[s.unique_id].append((inv, quote, min(budget, ask * share)))
    for s in seekers:
        o = offers[s.unique_id]
        ask, needed = terms[s.unique_id]
        pre, fills = syndicate(ask, np.array([x[1] for x in o]), np.array([x[2] for x in o]),
                               np.array([x[0].unique_id for x in o]))
        raised = float(fills.sum())
        s.last_ask_step = model.t
        if not round_closes(raised, ask, needed, ip.min_fill_needed, ip.min_fill_optional):
            s.failed_rounds += needed
            model.log_event("round_failed", s, None, ask, f"offers={len(o)}" + ("" if needed else " optional"))
            continue
        _close_round(model, s, pre, raised, [(x[0], f) for x, f in zip(o, fills) if f > 0], needed)


def _close_round(model: ComputeEconomy, s, pre: float, raised: float, fills: list, needed: bool) -> None:
    ip = model.p.investors
    post = pre + raised
    kind = round_kind(pre, s.last_post_usd)
    for k in list(s.stakes):
        s.stakes[k] *= pre / post
    for inv, f in fills:
        payer = inv.parent if inv.kind == "corporate" else inv
        model.ledger.transfer(payer.unique_id, s.unique_id, f, "funding_round")
        s.stakes[inv.unique_id] = s.stakes.get(inv.unique_id, 0.0) + f / post
        inv.invested_usd += f
        inv.add_holding(s)
        model.network.add_flow(inv.unique_id, s.unique_id, "equity", f, model.t)
        if inv.kind == "corporate":
            model.network.add_flow(payer.unique_id, inv.unique_id, "funding", f, model.t)
            if ip.circular_deals:
                _compute_commitment(model, s, inv.parent, f * ip.compute_commitment_share)
    s.last_post_usd = post
    s.last_round_step = model.t
    s.failed_rounds = 0
    s.written_down = False
    s.plan_burn()
    if needed:  # an optional round sells growth the marks already price: no new story
        s.narrative_arr_usd = max(s.narrative_arr_usd, pre / max(s.market_multiple(), 1e-9))
    model.deals.append((model.t, s.unique_id))
    model.deal_count[s.unique_id] = model.deal_count.get(s.unique_id, 0) + 1
    model.record_funding(raised)
    lead = max(fills, key=lambda x: (x[1], -x[0].unique_id))[0]
    model.log_event("funding_round", s, lead, raised, f"{kind} pre={pre:.4g} post={post:.4g}")


def _compute_commitment(model: ComputeEconomy, s, owner, value_usd: float) -> None:
    """The circular part of a strategic round: the startup reserves the investor's GPUs."""
    mp = model.p.markets
    classes = sorted(owner.fleet, key=lambda c: (-model.chip(c).launch_year, c))
    if not classes or not owner.alive:
        return
    c = classes[0]
    price = model.gpu_price.get((owner.region, c), owner.reservation_usd(c) * 2) * (1 - mp.contract_discount)
    chips = value_usd / (mp.contract_months * price)
    model.add_contract(gpu_hours.Contract(owner, s, c, chips, price, model.t + mp.contract_months, True))
    model.log_event("compute_contract", s, owner, value_usd, f"{chips:.0f} x {c} for {mp.contract_months} months (circular)")


def _entry(model: ComputeEconomy) -> None:
    """New startups arrive at a rate that rises with sentiment and fades with time (Poisson)."""
    sp = model.p.startups
    rng = model.streams["entry"]
    n = int(rng.poisson(sp.entry_per_month * model.sentiment_factor * math.exp(-model.years / sp.entry_decay_years)))
    for _ in range(n):
        setup.new_startup(model, "cn" if rng.random() < sp.cn_share else "us")
