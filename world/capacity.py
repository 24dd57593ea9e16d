"""The bridge to hardware_models: what one chip of a class yields serving one architecture.

The economy never loops over tokens: for each (model, chip) it asks the hardware model
once (serve_cached, one standard deployment per pair) for output tokens/s per chip and
time per output token, and scales by hours and utilisation. A provider's capacity is
then chips x tokens per chip-month, its cost per token its GPU-hour cost / that rate.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from hardware_models import serving, specs
from hardware_models.errors import InputError

SECONDS_PER_MONTH = 730.0 * 3600.0


@dataclass(frozen=True)
class Deployment:
    """One standard deployment of a model on a chip class (the n_chips of one replica)."""

    model_id: str
    chip_id: str
    n_chips: int
    precision: str
    mtok_per_chip_month: float  # blended input+output Mtok at 100% utilisation
    tpot_ms: float  # time per output token, the latency the logit sees
    feasible: bool


def precision_for(chip: specs.Chip) -> str:
    """FP8 where the chip has it (Hopper and later serve FP8 in production), else BF16."""
    return "fp8" if chip.fp8_tflops else "bf16"


def replica_chips(model: specs.ModelSpec, chip: specs.Chip, precision: str) -> int:
    """Smallest power-of-two group holding the weights in 60% of memory (rest for KV cache)."""
    bytes_per_param = 1.0 if precision in ("fp8", "int8") else 2.0
    weights_gb = model.total_params_b * bytes_per_param
    n = 1
    while n * chip.hbm_gb * 0.6 < weights_gb and n < 64:
        n *= 2
    return n


@functools.cache
def deployment(model_id: str, chip_id: str, input_len: int, output_len: int) -> Deployment:
    """Throughput of the standard deployment, cached per (model, chip, workload)."""
    model, chip = specs.get_model(model_id), specs.get_chip(chip_id)
    precision = precision_for(chip)
    n = replica_chips(model, chip, precision)
    try:
        res = serving.serve_cached(model_id, chip_id, n, precision, input_len, output_len)
    except InputError:
        # The model does not fit this chip at any replica size the hardware model accepts.
        return Deployment(model_id, chip_id, n, precision, 0.0, math.inf, False)
    per_s = float(res.output_tokens_per_s_per_chip)
    blended = per_s * (input_len + output_len) / output_len
    ok = math.isfinite(blended) and blended > 0
    return Deployment(model_id, chip_id, n, precision, blended * SECONDS_PER_MONTH / 1e6 if ok else 0.0,
                      float(res.tpot_ms) if ok else math.inf, ok)


def h100e(chip_id: str) -> float:
    """The catalog's stated H100-equivalent conversion (see Chip.h100_equivalents)."""
    return specs.get_chip(chip_id).h100_equivalents


def training_flops_per_chip_month(chip_id: str, mfu: float) -> float:
    """Dense BF16 FLOPs one chip delivers in a month of training at the given MFU."""
    return specs.get_chip(chip_id).bf16_tflops * 1e12 * mfu * SECONDS_PER_MONTH
