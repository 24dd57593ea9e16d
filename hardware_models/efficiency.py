"""The few physical efficiency factors of the serving model, read from catalog/efficiency.toml.

Peaks are datasheet numbers; real kernels reach a fraction of them. The factors are:
achieved fraction of HBM bandwidth in decode (``bw_eff``), achieved fraction of peak
tensor throughput in large matrix products (``mfu``), a fixed time per layer per step
(``layer_us``: kernel launches, synchronisation, small unfused kernels such as norms,
rotary embeddings and routing), a host-side cost per sequence per step (``seq_us``:
scheduling, sampling, detokenising) and a per-collective latency (``collective_us``).
``bw_eff`` and ``mfu`` may differ per chip generation; a generation without calibration
data uses the global values. ``benchmarks/hw_accuracy.py --write`` refits them.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass

from hardware_models.specs import CATALOG_DIR

EFFICIENCY_FILE = CATALOG_DIR / "efficiency.toml"


@dataclass(frozen=True)
class Efficiency:
    """Global factors plus per-generation (bw_eff, mfu) overrides."""

    bw_eff: float = 0.80
    mfu: float = 0.60
    layer_us: float = 20.0
    seq_us: float = 2.0
    collective_us: float = 8.0
    by_generation: tuple[tuple[str, float, float], ...] = ()

    def for_generation(self, generation: str) -> tuple[float, float]:
        """(bw_eff, mfu) for one chip generation, falling back to the global values."""
        for gen, bw, mfu in self.by_generation:
            if gen == generation:
                return bw, mfu
        return self.bw_eff, self.mfu


@functools.cache
def fitted() -> Efficiency:
    """The factors stored in catalog/efficiency.toml (defaults if the file is absent)."""
    if not EFFICIENCY_FILE.exists():
        return Efficiency()
    with EFFICIENCY_FILE.open("rb") as fh:
        data = tomllib.load(fh)
    g = data["global"]
    gens = tuple(
        (name, float(v["bw_eff"]), float(v["mfu"]))
        for name, v in sorted(data.get("generation", {}).items())
    )
    return Efficiency(
        bw_eff=float(g["bw_eff"]),
        mfu=float(g["mfu"]),
        layer_us=float(g["layer_us"]),
        seq_us=float(g["seq_us"]),
        collective_us=float(g["collective_us"]),
        by_generation=gens,
    )
