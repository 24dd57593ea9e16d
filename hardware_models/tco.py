"""Economics of serving: cost per million tokens, the cost of an owned GPU-hour, energy.

All functions are plain numpy arithmetic, so they take scalars or arrays alike.
Defaults are stated assumptions, each with its reasoning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hardware_models.errors import InputError
from hardware_models.specs import Chip, get_chip

HOURS_PER_YEAR = 8760.0
# assumption: a GPU server costs ~1.5x its GPUs (DGX/HGX H100 systems list at ~$300-400k
# for 8 GPUs of ~$27.5k: CPUs, NICs, switches, chassis and storage make up the rest).
SYSTEM_COST_MULTIPLIER = 1.5
# assumption: a server draws ~1.4x its GPUs' TDP in service (DGX H100: 10.2 kW max for
# 8 x 700 W GPUs; hosts, NICs and fans run well below their maxima most of the time).
HOST_POWER_MULTIPLIER = 1.4


def cost_per_mtok_usd(output_tokens_per_s: Any, n_chips: Any, gpu_hour_usd: Any) -> Any:
    """USD per million output tokens when n_chips rented at gpu_hour_usd each serve at this rate."""
    tps = np.asarray(output_tokens_per_s, dtype=float)
    cost = np.asarray(n_chips, dtype=float) * np.asarray(gpu_hour_usd, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(tps > 0, cost / (tps * 3600.0) * 1e6, np.inf)
    return out.item() if out.ndim == 0 else out


def owned_gpu_hour_cost_usd(
    chip: str | Chip,
    life_years: float = 5.0,
    power_usd_per_kwh: float = 0.08,
    pue: float = 1.3,
    utilisation: float = 0.7,
) -> float:
    """Full cost of one used GPU-hour of an owned chip: capex amortised plus power.

    Defaults (assumptions): a 5-year life (hyperscalers depreciate servers over 5-6 years);
    $0.08/kWh (US industrial average, EIA 2024); PUE 1.3 (new AI halls 1.1-1.4, Uptime
    Institute fleet average ~1.5); 70% of hours sold. Capex includes the server share
    (x1.5); power is drawn only in used hours, at TDP x 1.4 for the host.
    """
    c = get_chip(chip)
    if not (life_years > 0 and 0 < utilisation <= 1 and pue >= 1 and power_usd_per_kwh >= 0):
        raise InputError(
            f"owned_gpu_hour_cost_usd: life_years={life_years}, utilisation={utilisation}, pue={pue}, "
            f"power_usd_per_kwh={power_usd_per_kwh}; allowed: life_years > 0, 0 < utilisation <= 1, "
            "pue >= 1, power price >= 0"
        )
    capex_per_hour = c.price_usd * SYSTEM_COST_MULTIPLIER / (life_years * HOURS_PER_YEAR * utilisation)
    power_per_hour = c.tdp_w * HOST_POWER_MULTIPLIER / 1000.0 * pue * power_usd_per_kwh
    return capex_per_hour + power_per_hour


def joules_per_token(
    chip: str | Chip,
    n_chips: Any,
    output_tokens_per_s: Any,
    power_fraction: float = 1.0,
    pue: float = 1.0,
) -> Any:
    """Energy per output token: chips at power_fraction x TDP (x PUE for the facility)."""
    c = get_chip(chip)
    watts = np.asarray(n_chips, dtype=float) * c.tdp_w * power_fraction * pue
    tps = np.asarray(output_tokens_per_s, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(tps > 0, watts / tps, np.inf)
    return out.item() if out.ndim == 0 else out
