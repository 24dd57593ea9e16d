"""The economy's parameter schema: every knob a scenario or `--set` may turn.

Each default names the stylized fact it comes from (ids of ../shared/data/stylized_facts.csv)
or says "assumption:" with the reasoning. Switches that remove one behaviour (for the
mechanism ablations of issue 4) are booleans or zero-able lags in their section.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

YearMonth = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class RunParams(_Section):
    start: YearMonth = "2023-01"  # DESIGN.md: the world starts 2023-01
    months: int = Field(96, ge=1, le=600)  # DESIGN.md: 2023-01 .. 2030-12


class Segment(_Section):
    """One demand segment: Bass adoption of users, tokens per user, logit tastes."""

    users_max_m: float = Field(gt=0, le=1e5)  # potential users (millions)
    users_2023_share: float = Field(gt=0, lt=1)  # share adopted at the start
    bass_p: float = Field(ge=0, le=1)  # innovation coefficient per year
    bass_q: float = Field(ge=0, le=5)  # imitation coefficient per year
    mtok_per_user_month: float = Field(gt=0, le=1e6)  # paid tokens per user per month, 2023
    tokens_growth_per_year: float = Field(ge=0, le=100)  # growth of tokens per user (agentic use)
    tokens_growth_years: float = Field(4.0, ge=0, le=50)  # assumption: per-user growth saturates after 4 years
    elasticity: float = Field(ge=0, le=5)  # own-price elasticity of segment volume
    quality_min: float = Field(ge=0, le=40)  # providers below this capability get no share
    quality_weight: float = Field(ge=0, le=50)  # logit weight per decade of training compute
    price_weight: float = Field(ge=0, le=20)  # logit weight per log-price unit
    latency_weight: float = Field(ge=0, le=10)  # logit weight per 100 ms time-per-output-token
    cn_share: float = Field(ge=0, le=1)  # share of the segment's users in the CN region


class DemandParams(_Section):
    # Bass adoption: F11 (organisations using AI 55% in 2023 -> 78% in 2024).
    # Jevons: S09 with S08 implies elasticity > 1 (illustrative 1.19); per-segment values
    # are assumptions spread around it (enterprise least elastic, coding agents most).
    # Volumes are set so that 2023 AI revenue is a few $bn a year (F20: OpenAI ~$1bn 2023).
    chat: Segment = Segment(
        users_max_m=1500, users_2023_share=0.1, bass_p=0.03, bass_q=0.9,
        mtok_per_user_month=0.01, tokens_growth_per_year=0.15, elasticity=1.05,
        quality_min=24.0, quality_weight=2.5, price_weight=1.2, latency_weight=0.5, cn_share=0.3,
    )
    enterprise: Segment = Segment(
        users_max_m=300, users_2023_share=0.15, bass_p=0.03, bass_q=0.8,
        mtok_per_user_month=0.15, tokens_growth_per_year=0.25, elasticity=0.95,
        quality_min=24.5, quality_weight=3.0, price_weight=1.0, latency_weight=0.3, cn_share=0.25,
    )
    coding: Segment = Segment(
        users_max_m=40, users_2023_share=0.05, bass_p=0.02, bass_q=1.2,
        mtok_per_user_month=0.5, tokens_growth_per_year=0.6, elasticity=1.2,
        quality_min=25.0, quality_weight=4.0, price_weight=1.0, latency_weight=1.0, cn_share=0.2,
    )
    multimodal: Segment = Segment(
        users_max_m=400, users_2023_share=0.02, bass_p=0.02, bass_q=0.7,
        mtok_per_user_month=0.05, tokens_growth_per_year=0.25, elasticity=1.1,
        quality_min=24.5, quality_weight=2.0, price_weight=1.3, latency_weight=0.5, cn_share=0.3,
    )
    noise_sd: float = Field(0.05, ge=0, le=1)  # assumption: month-to-month demand noise (log sd)
    spill_share: float = Field(0.7, ge=0, le=1)  # assumption: rationed users who try another provider
    spill_rounds: int = Field(3, ge=0, le=10)  # assumption: rounds of spill-over per month
    reference_price_usd_per_mtok: float = Field(20.0, gt=0)  # F06: GPT-3.5-level price 2022-11


class InvestorParams(_Section):
    n_vc: int = Field(20, ge=1, le=100_000)  # assumption: tens of active AI VC funds
    cn_share: float = Field(0.25, ge=0, le=1)  # share of the VC funds, and of LP money, in the CN region; F24/F25: all non-US AI VC was 26% of the world's in 2024 (1 - 97/131.5), China a part of it
    lp_inflow_usd_per_month: float = Field(6e9, ge=0)  # F24: ~$86bn AI VC in 2023 ~ $7bn/month
    lp_rate_sensitivity: float = Field(8.0, ge=0, le=100)  # assumption: inflows fall ~8%/pp of rates
    lp_return_sensitivity: float = Field(1.0, ge=0, le=10)  # assumption: inflows chase 12m returns
    deploy_share_per_month: float = Field(0.25, ge=0, le=1)  # the most of its dry powder a fund puts into one month's deal; calibrated on F26 (top five raised $84bn in 2025): 0.12 gave 35 $bn, 0.25 56, 0.5 79 but F14 a coin flip (trials with no minimum fill; README); assumption before: 0.12, funds deploying over ~8 months
    min_fill_needed: float = Field(0.3, ge=0, le=1)  # assumption: a round a lab must raise fails below 30% of its ask
    min_fill_optional: float = Field(0.1, ge=0, le=1)  # assumption: a round raised by choice takes what the book offers from 10% of its ask
    fundamental_multiple: float = Field(10.0, gt=0, le=200)  # assumption: EV/forward revenue of fast-growing software
    growth_premium: float = Field(0.25, ge=0, le=10)  # assumption: +25% on the multiple per 100% yoy revenue growth
    trend_following: bool = True  # ablation switch: False removes trend-chasing investors
    # Brock-Hommes (1998) expectations; defaults in the paper's chaotic region (g > R,
    # high beta), tuned so that bubbles and crashes occur in some seeds, not all (assumption).
    trend_strength: float = Field(1.2, ge=0, le=5)  # trend followers' extrapolation g
    reversion: float = Field(0.0, ge=0, le=1)  # fundamentalists' expected persistence v (0 in BH98)
    switching_intensity: float = Field(10.0, ge=0, le=1000)  # beta of the discrete choice
    fitness_memory: float = Field(0.5, ge=0, lt=1)  # weight on past realised profits
    fundamentalist_cost: float = Field(0.02, ge=0, le=10)  # cost of fundamental analysis (fitness units)
    sentiment_noise_sd: float = Field(0.05, ge=0, le=1)  # assumption: news shocks to sentiment
    min_pre_money_to_ask: float = Field(1.0, ge=0, le=100)  # assumption: no VC prices a round selling more than half of the company
    herding: float = Field(1.0, ge=0, le=10)  # logit weight on peers' recent deals in the same startup
    writedown_threshold: float = Field(0.3, ge=0, le=1)  # marks this far below last round are written down
    corporate_arms: bool = True  # hyperscalers' corporate venture arms invest
    corporate_share_of_round: float = Field(0.5, ge=0, le=1)  # assumption: strategic leads take half
    circular_deals: bool = True  # corporate money must come back as compute purchases
    compute_commitment_share: float = Field(0.7, ge=0, le=1)  # assumption: share of a strategic round spent on the investor's cloud


class HyperscalerParams(_Section):
    n_us: int = Field(4, ge=0, le=10_000)  # F12: big-4 US hyperscalers
    n_cn: int = Field(2, ge=0, le=10_000)  # assumption: Chinese cloud majors
    n_neocloud: int = Field(3, ge=0, le=10_000)  # F41: CoreWeave, Lambda, Fluidstack...
    n_state: int = Field(2, ge=0, le=10_000)  # S10/S11: state-backed computing centres (CN)
    construction_lag_months: int = Field(18, ge=0, le=84)  # S04/F35: 12 -> 24 months build
    forecast_window_months: int = Field(12, ge=1, le=36)  # assumption: trailing window for trend extrapolation
    max_growth_per_year: float = Field(2.0, ge=0, le=20)  # assumption: cap on extrapolated growth
    planning_utilisation: float = Field(0.85, gt=0, le=1)  # assumption: owners build for forecast demand at 85% use of the fleet (headroom for peaks and failures)
    core_cash_flow_usd_per_month: float = Field(6e9, ge=0)  # what a big cloud's core business hands its AI side a month, after its own capex (non_ai_capex_share); assumption, with F13 as the scale (big-5 capex ~$126bn in 2023, paid from core cash)
    core_cash_growth_per_year: float = Field(0.16, ge=-0.5, le=2)  # calibrated on F14 (2026 capex within x2 of ~$725bn; 0.12 gave 355; AI capex, before the core business's capex was counted); assumption: cloud/ads cash grows ~16%/yr
    non_ai_capex_share: float = Field(0.5, ge=0, le=5)  # the core business's own capex over the core cash flow it leaves for AI; F13: the big five's capex was 123 $bn in 2022, before the AI boom, against the four US clouds' core cash flow of 2022 here (6e9/1.16 a month each, 248 $bn a year): ~0.5 (Oracle, F13's fifth, ignored). Reported only (F12-F14 and S07 count company-wide capex); it buys no chips
    capex_share_of_cash: float = Field(0.9, ge=0, le=1)  # assumption: share of cash a hyperscaler commits per year
    capex_spread_months: int = Field(6, ge=1, le=60)  # assumption: an owner spends its investable cash (a cloud's capex share, a neocloud's free equity) over six months, not in one month
    lab_training_share: float = Field(0.006, ge=0, le=1)  # assumption: in-house labs train with 0.6% of core cash flow (~$0.4bn/yr per big cloud in 2023), growing with it; calibrated on S07's revenue (< 40 $bn: the clouds' own models take token share from the startups): 0.003 gave 46 $bn (price step 0.5), and with the price step at 0.6: 0.005 40, 0.006 35, 0.008 34 with the 2023 GPU-hour spike (F01a) then in doubt (vendors at 1.1, before the building rule); 1-2% kill the spike ($4.5/h) and at 2% make bursts fundamental (README)
    max_internal_share: float = Field(0.75, ge=0, le=1)  # assumption: a cloud keeps ~25% of its AI fleet for outside customers
    internal_priority: bool = True  # ablation switch: own lab served before renters under scarcity
    lab_markup: float = Field(0.8, ge=0, le=10)  # assumption: a cloud lab's price over its serving cost, flagship and lite model alike (no public margin split for the clouds' model APIs); the clouds never subsidise
    lab_lite: bool = True  # ablation switch: each cloud lab also sells a small model (Gemini Flash, GPT-4o-mini, Doubao-lite, Qwen-Turbo; assumption: public product lists, not in the shared data)
    lab_lite_tier: Literal["small", "mid"] = "small"  # assumption: the lite line serves the cheapest tier
    initial_h100e: float = Field(40_000, ge=0)  # F19: big buyers took ~50-150k H100s each during 2023; assumption: ~40k H100e in service at its start
    neocloud_initial_h100e: float = Field(15_000, ge=0)  # F19: CoreWeave ~40k
    neocloud_ltv: float = Field(0.7, ge=0, le=0.95)  # F41: GPU-collateralised debt; LTV assumption
    debt_rate_spread: float = Field(0.06, ge=0, le=0.5)  # assumption: GPU-backed loans ~ rate + 6pp
    debt_term_months: int = Field(48, ge=6, le=240)  # assumption: 4-year amortisation
    covenant_dscr: float = Field(1.2, ge=0, le=10)  # assumption: min rental income / debt service
    covenant_grace_months: int = Field(3, ge=0, le=24)  # breaches tolerated before forced sales
    debt_reserve_months: int = Field(6, ge=0, le=60)  # assumption: a neocloud keeps six months of debt service in cash and invests only the equity beyond it
    cloud_offtake: bool = True  # ablation switch: big clouds whose labs are short of their own chips rent neocloud capacity for years (Microsoft-CoreWeave, F41), and lenders finance the chips on the contract
    offtake_share: float = Field(0.5, ge=0, le=1)  # assumption: share of its lab's shortfall a cloud books with neoclouds in a month
    offtake_months: int = Field(48, ge=6, le=120)  # assumption: multi-year take-or-pay terms (CoreWeave's cloud contracts run 2-5 years; public filings, not in the shared data)
    offtake_ltv: float = Field(0.85, ge=0, le=0.98)  # assumption: lenders advance more against an investment-grade customer's contract than against the GPUs alone (neocloud_ltv); not calibrated (F41 passes from 0.85 up; README)
    lender_optimism: float = Field(2.0, ge=0, le=20)  # assumption: lenders size GPU loans on twice today's rental income (growth they expect)
    state_subsidy_usd_per_month: float = Field(3e8, ge=0)  # assumption: provincial compute subsidies
    state_utilisation_cap: float = Field(0.5, ge=0, le=1)  # S10: lighting rate < 50%
    power_usd_per_kwh: float = Field(0.08, gt=0, le=2)  # assumption: US industrial power
    pue: float = Field(1.3, ge=1, le=3)  # assumption: modern data-centre PUE
    server_overhead: float = Field(1.6, ge=1, le=4)  # assumption: server power / GPU TDP
    depreciation_years: float = Field(5.0, gt=0, le=15)  # assumption: hyperscaler server lives 5-6 years
    construction_usd_per_mw: float = Field(1.0e7, ge=0)  # assumption: ~$10m/MW shell and power


class StartupParams(_Section):
    n: int = Field(30, ge=1, le=100_000)  # assumption: tens of model startups (S02: ~120 in CN alone)
    cn_share: float = Field(0.35, ge=0, le=1)  # S02: many Chinese foundation-model startups
    share_frontier: float = Field(0.2, ge=0)  # assumption: strategy mix weights
    share_efficiency: float = Field(0.2, ge=0)  # assumption (see share_frontier)
    share_vertical: float = Field(0.3, ge=0)  # assumption (see share_frontier)
    share_wrapper: float = Field(0.3, ge=0)  # assumption (see share_frontier)
    initial_cash_usd: float = Field(1e9, gt=0)  # assumption: AI model startups held ~$1bn each in 2023 (F24: ~$86bn AI VC that year)
    frontier_cash_multiple: float = Field(15.0, ge=1)  # F20/F21: frontier labs held ~$10-15bn (Microsoft's $10bn into OpenAI, 2023)
    staff_usd_per_month: float = Field(5e6, ge=0)  # F21: OpenAI ~$1.5bn staff/yr; assumption: a small lab's floor ~$60m/yr
    min_runway_months: float = Field(9.0, ge=0, le=60)  # assumption: raise when runway < 9 months
    max_failed_rounds: int = Field(4, ge=1, le=120)  # assumption: four months without a term sheet and founders sell or close
    traction_patience_months: int = Field(18, ge=1, le=600)  # a lab without traction (revenue < staff floor) must raise again this long after its last round; F28-F30: Inflection, Adept, Character.AI sold 9-17 months after theirs
    target_runway_months: float = Field(24.0, ge=1, le=120)  # assumption: rounds sized for 2 years
    opportunistic_sentiment: float = Field(1.3, ge=0, le=100)  # assumption: raise early when the market multiple is 30% over fundamental
    preemptive_uplift: float = Field(2.0, ge=0, le=100)  # a lab raises whenever the market prices it this far above its last post-money (0: never); assumption
    preemptive_dilution: float = Field(0.15, ge=0, le=0.5)  # ...selling this share of its pre-money (assumption: 10-20% a round)
    penetration_pricing: bool = True  # ablation switch: subsidised prices while funded
    subsidy_depth: float = Field(0.4, ge=0, le=0.95)  # assumption: price down to 60% of cost
    price_up_when_short: float = Field(0.15, ge=0, le=2)  # assumption: monthly price rise when rationed
    max_price_change_per_month: float = Field(0.68, ge=0, le=0.99)  # calibrated on S01 and S01/S08 together (README calibration table; with contracts expiring before signing, 128 seeds, S01 / two-year fall: 0.6 85.3% / 89%, 0.65 85.2% / 87%, 0.68 88.8% / 87%, 0.7 89.5% / 85%, 0.72 90.2% / 85%; the two-year row needs 85%); assumption: a list price can fall by up to ~70% in one announcement (GPT-4o mini at $0.15 against GPT-3.5 Turbo's $0.50; the CN clouds cut 90%+ in 2024-05; public price lists, not in the shared data)
    revenue_reinvestment: float = Field(0.3, ge=0, le=5)  # a startup trains with this share of last month's token revenue on top of its plan; F21: OpenAI 2024 ~3bn training on 3.7bn revenue (0.8) is the top; calibrated on S05 (0.2-0.8 all pass; 0.15-0.4 leave S07's revenue at 40-42 $bn)
    efficient_adoption: bool = True  # ablation switch: firms adopt MoE architectures
    adoption_lag_months: int = Field(6, ge=0, le=60)  # assumption: followers adopt MoE 6 months later
    narrative_decay_per_month: float = Field(0.08, ge=0, le=1)  # assumption: unmet revenue promises fade ~60% a year (calibrated: startup count halves, S02)
    entry_per_month: float = Field(0.15, ge=0, le=1000)  # assumption: new startups per month at neutral sentiment in 2023
    entry_decay_years: float = Field(3.0, gt=0, le=100)  # assumption: entry fades as frontier training costs rise 2.4x/yr (F33)
    acquisition_appetite: float = Field(0.7, ge=0, le=1)  # chance a failing lab with a bid at or above its debts is bought; calibrated on F31 (five reverse acqui-hires by the clouds, 2024-03 to 2025-07; 64 seeds: 0.35 gave 1, 0.6 2, 0.7 3, 0.8 3, 1.0 4): the smallest value that meets it within x2 in 90% of resamples


class VendorParams(_Section):
    nvidia_units_per_month: float = Field(100_000, gt=0)  # F19: ~300k H100 per quarter in 2023
    other_units_per_month: float = Field(15_000, gt=0)  # assumption: AMD / Huawei / Cambricon volumes
    capacity_growth_per_year: float = Field(1.4, ge=0, le=10)  # calibrated on F14 (2026 capex ~725 $bn within x2), under F17/F18 (DC revenue 2.4-2.8x a year 2023-25): with owners building only for chips due within the construction lag, 1.1 gave 2026 AI capex 333 $bn (F14 now counts the core business's capex too: 732 at 1.4), 1.4 437, 1.7 546, 2.0 650 (S07's ratio 17.1x but bursts without trend followers 23%); 2.0 with a 6-month lag matches F18 (README, calibration)
    expansion_lag_months: int = Field(12, ge=0, le=60)  # assumption: CoWoS/HBM lines take ~a year
    lead_time_months: int = Field(3, ge=0, le=24)  # F19: server lead times 36-52 weeks at the peak
    backlog_price_elasticity: float = Field(0.15, ge=0, le=5)  # S14: +15-20% server prices under shortage
    unit_cost_share: float = Field(0.3, ge=0, le=1)  # F18: ~70-78% gross margin


class MarketParams(_Section):
    contract_months: int = Field(12, ge=1, le=120)  # assumption: typical reserved-capacity term
    contract_share: float = Field(0.5, ge=0, le=1)  # assumption: share of steady needs under contract
    contract_discount: float = Field(0.1, ge=0, le=0.9)  # assumption: reserved vs on-demand discount
    reservation_floor_share: float = Field(0.5, ge=0, le=2)  # share of depreciation in owners' ask
    max_rent_payback_months: float = Field(6.0, gt=0, le=120)  # assumption: rent above 1/6 of a chip's price a month and buyers would rather buy (F01a: >$8/h at the 2023 peak)
    fire_sale_discount: float = Field(0.5, ge=0, le=0.99)  # assumption: distressed GPUs sold at half
    serving_utilisation: float = Field(0.5, gt=0, le=1)  # assumption: average over diurnal peaks
    input_len: int = Field(2000, ge=1, le=200_000)  # assumption: standard request mix
    output_len: int = Field(400, ge=1, le=100_000)  # assumption: ~5:1 input:output chat/RAG mix
    algorithmic_progress_per_year: float = Field(3.0, ge=1, le=20)  # assumption: Epoch ~3x/yr effective compute
    mfu: float = Field(0.35, gt=0, le=1)  # assumption: training MFU
    index_quality: float = Field(25.0, ge=0, le=40)  # assumption: GPT-4 class (~2e25 FLOP) fixes the constant-capability index


class RateParams(_Section):
    base_rate: float = Field(0.05, ge=-0.05, le=0.5)  # assumption: 2023 policy rate ~5%
    neutral_rate: float = Field(0.03, ge=-0.05, le=0.5)  # assumption: rate at which LP flows are neutral


class PolicyParams(_Section):
    export_controls: bool = True  # ablation switch: False ignores every export-control event


class ExportControlsEvent(_Section):
    """Export rules from this month on: classes and named chips barred to CN buyers."""

    kind: Literal["export_controls"]
    date: YearMonth
    restricted: tuple[Literal["restricted-cn", "unrestricted"], ...] = ("restricted-cn",)
    chips: tuple[str, ...] = ()  # catalog chip ids barred on top of the classes
    detail: str = ""


class RateChangeEvent(_Section):
    kind: Literal["rate_change"]
    date: YearMonth
    rate: float = Field(ge=-0.05, le=0.5)
    detail: str = ""


class ArchitectureEvent(_Section):
    """A model architecture becomes available to adopters (efficiency shocks are these)."""

    kind: Literal["architecture"]
    date: YearMonth
    model_id: str
    tier: Literal["small", "mid", "large"] = "large"
    detail: str = ""


class DemandShockEvent(_Section):
    kind: Literal["demand_shock"]
    date: YearMonth
    segment: Literal["chat", "enterprise", "coding", "multimodal"]
    tokens_multiplier: float = Field(gt=0, le=1000)
    detail: str = ""


class SubsidyEvent(_Section):
    kind: Literal["subsidy"]
    date: YearMonth
    usd_per_month: float = Field(ge=0)
    detail: str = ""


class ValuationDiscountEvent(_Section):
    """From this month on investors value a region's AI firms at a discount to the same
    revenue elsewhere (exits shut, a country risk premium): rounds priced before it are not
    honoured after it."""

    kind: Literal["valuation_discount"]
    date: YearMonth
    region: Literal["us", "cn"]
    discount: float = Field(ge=0, lt=1)  # share of the multiple lost
    detail: str = ""


Event = Annotated[
    ExportControlsEvent | RateChangeEvent | ArchitectureEvent | DemandShockEvent | SubsidyEvent
    | ValuationDiscountEvent,
    Field(discriminator="kind"),
]


class Architecture(_Section):
    """A servable model from the hardware catalog and the month it becomes available."""

    model_id: str
    available: YearMonth
    tier: Literal["small", "mid", "large"]


class EconomyParams(_Section):
    run: RunParams = RunParams()
    demand: DemandParams = DemandParams()
    investors: InvestorParams = InvestorParams()
    hyperscalers: HyperscalerParams = HyperscalerParams()
    startups: StartupParams = StartupParams()
    vendors: VendorParams = VendorParams()
    markets: MarketParams = MarketParams()
    rates: RateParams = RateParams()
    policy: PolicyParams = PolicyParams()
    # Catalog ids of the hardware model with their release months (model_specs.csv). The
    # 2023 tiers use stand-ins (assumption): Llama-2-7B for small GPT-3.5-class models,
    # Llama-2-70B for mid-size ones, dense Llama-3.1-405B for GPT-4-class frontier models
    # (GPT-4's architecture is undisclosed).
    architectures: tuple[Architecture, ...] = (
        Architecture(model_id="llama-2-7b", available="2023-01", tier="small"),
        Architecture(model_id="llama-2-70b", available="2023-01", tier="mid"),
        Architecture(model_id="llama-3.1-405b", available="2023-01", tier="large"),
        Architecture(model_id="mixtral-8x7b", available="2023-12", tier="mid"),
        Architecture(model_id="deepseek-v3", available="2024-12", tier="large"),
        Architecture(model_id="qwen3-235b-a22b", available="2025-04", tier="large"),
    )
    events: tuple[Event, ...] = ()
