"""Time and cost of a training run: 6 x parameters x tokens FLOPs at an achieved MFU.

The default MFU falls with a weaker scale-up fabric, because tensor and expert
parallelism must then give way to pipeline and data parallelism whose traffic does not
overlap with compute as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from hardware_models.errors import InputError
from hardware_models.specs import Chip, get_chip

# source: Llama 3 paper (arXiv 2407.21783, Table 4): 38-43% BF16 MFU on 8-16k H100s
# (NVLink 900 GB/s in the node). The reference MFU of a chip with full NVLink bandwidth.
REFERENCE_MFU = 0.40
REFERENCE_SCALEUP_GB_S = 900.0
# assumption: MFU scales as (scale-up bandwidth / 900 GB/s)^0.3 below 900 GB/s: H800's
# 400 GB/s -> 0.31 (DeepSeek needed DualPipe and custom all-to-all to hide it), PCIe-only
# cards (64-128 GB/s) -> 0.2, in line with commonly reported 20-30% on weak fabrics.
FABRIC_EXPONENT = 0.3


@dataclass(frozen=True)
class TrainingRun:
    """A training run's compute, duration and cost."""

    flops: float
    mfu: float
    days: float
    gpu_hours: float
    cost_usd: float


def default_mfu(chip: str | Chip) -> float:
    """Achieved BF16 MFU for large-scale training on this chip's scale-up fabric."""
    c = get_chip(chip)
    ratio = min(c.scaleup_gb_s, REFERENCE_SCALEUP_GB_S) / REFERENCE_SCALEUP_GB_S
    return REFERENCE_MFU * ratio**FABRIC_EXPONENT


def training_run(
    params_b: float,
    tokens: float,
    chip: str | Chip,
    n_chips: int,
    mfu: float | None = None,
    gpu_hour_usd: float = 2.0,
) -> TrainingRun:
    """Train a model of params_b billion (active) parameters on `tokens` tokens.

    FLOPs = 6 x params x tokens (forward + backward, Kaplan et al. 2020); BF16 peak;
    cost at gpu_hour_usd per chip-hour (default $2: an H100 rental price of 2024-25,
    cf. stylized_facts F01a/F03).
    """
    c = get_chip(chip)
    if not (params_b > 0 and tokens > 0 and n_chips >= 1):
        raise InputError(
            f"training_run: params_b={params_b}, tokens={tokens}, n_chips={n_chips}; "
            "allowed: params_b > 0, tokens > 0, n_chips >= 1"
        )
    eff = default_mfu(c) if mfu is None else mfu
    if not 0 < eff <= 1:
        raise InputError(f"training_run: mfu={mfu}; allowed: 0 < mfu <= 1")
    flops = 6.0 * params_b * 1e9 * tokens
    seconds = flops / (n_chips * c.bf16_tflops * 1e12 * eff)
    gpu_hours = n_chips * seconds / 3600.0
    return TrainingRun(flops=flops, mfu=eff, days=seconds / 86400.0,
                       gpu_hours=gpu_hours, cost_usd=gpu_hours * gpu_hour_usd)
