"""Chip and model specifications, loaded once from the TOML catalogs in ``catalog/``.

Specs are frozen dataclasses: hashable (results cache on them) and picklable (sweeps ship
them to worker processes). Every number in the catalogs carries a ``source:`` or
``assumption:`` string, kept here in ``src`` so a user can ask where a figure came from.
"""

from __future__ import annotations

import difflib
import functools
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hardware_models.errors import InputError

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
EXPORT_CLASSES = ("unrestricted", "restricted-cn", "domestic-cn")
ATTENTION_KINDS = ("mha", "gqa", "mla")

# Which tensor peak each serving precision runs at. int4 is weight-only (W4A16): bf16 math.
PEAK_FIELD = {
    "bf16": "bf16_tflops", "fp16": "bf16_tflops", "fp8": "fp8_tflops",
    "int8": "int8_tops", "int4": "bf16_tflops", "fp4": "fp4_tflops",
}

# The reference chip of the H100-equivalent conversion (NVIDIA H100 SXM datasheet).
_H100_BF16_TFLOPS = 989.5
_H100_HBM_TB_S = 3.35


@dataclass(frozen=True)
class Chip:
    """One accelerator. TFLOP/s are dense peaks; a precision the chip lacks is None."""

    id: str
    name: str
    vendor: str
    generation: str
    launch_year: int
    bf16_tflops: float
    hbm_gb: float
    hbm_tb_s: float
    scaleup_gb_s: float
    scaleup_domain: int
    tdp_w: float
    price_usd: float
    export_class: str
    fp8_tflops: float | None = None
    int8_tops: float | None = None
    fp4_tflops: float | None = None
    src: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    @property
    def fp16_tflops(self) -> float:
        """FP16 and BF16 run at the same tensor-core rate on every catalogued chip."""
        return self.bf16_tflops

    def peak_tflops(self, precision: str) -> float | None:
        """Dense peak TFLOP/s (TOP/s for int8) a serving precision runs at; None if the chip lacks it."""
        field_name = PEAK_FIELD.get(precision)
        return None if field_name is None else getattr(self, field_name)

    @property
    def h100_equivalents(self) -> float:
        """How many H100 SXM this chip counts as in the economy's aggregates.

        The geometric mean of its dense BF16 compute ratio and its memory-bandwidth ratio
        to the H100 SXM (989.5 TFLOP/s, 3.35 TB/s): training is compute-bound and LLM
        decode bandwidth-bound, so a chip counts for both halves. H200 -> 1.20, B200 ->
        2.33, H20 -> 0.42, Ascend 910B -> 0.39, A100 -> 0.44.
        """
        return math.sqrt(
            self.bf16_tflops / _H100_BF16_TFLOPS * self.hbm_tb_s / _H100_HBM_TB_S
        )

    def source(self, field_name: str) -> str:
        """The catalog's source or assumption string for one field."""
        return dict(self.src).get(field_name, "")


@dataclass(frozen=True)
class ModelSpec:
    """One LLM architecture. MoE fields are zero for dense models."""

    id: str
    name: str
    release_year: int
    total_params_b: float
    active_params_b: float
    layers: int
    hidden: int
    ffn: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    max_context: int
    attention: str
    experts: int = 0
    top_k: int = 0
    shared_experts: int = 0
    moe_ffn: int = 0
    dense_layers: int = 0
    v_head_dim: int = 0
    kv_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    src: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def moe_layers(self) -> int:
        return self.layers - self.dense_layers if self.is_moe else 0

    @property
    def expert_params_b(self) -> float:
        """Parameters of ONE routed expert summed over all MoE layers (gate, up, down)."""
        return self.moe_layers * 3 * self.hidden * self.moe_ffn / 1e9

    @property
    def routed_params_b(self) -> float:
        """All routed experts: resident in memory, but only the touched ones are read."""
        return self.experts * self.expert_params_b

    @property
    def is_mla(self) -> bool:
        return self.attention == "mla"

    @property
    def kv_elements_per_token(self) -> int:
        """Cached elements per token over all layers: GQA/MHA K and V, or the MLA latent."""
        if self.attention == "mla":
            return self.layers * (self.kv_lora_rank + self.qk_rope_head_dim)
        return 2 * self.layers * self.kv_heads * self.head_dim

    def source(self, field_name: str) -> str:
        """The catalog's source or assumption string for one field."""
        return dict(self.src).get(field_name, "")


def _build(cls: type, entry: dict[str, Any], path: Path, index: int) -> Any:
    """Build one spec, naming the file, entry and field of anything wrong."""
    names = {f.name for f in fields(cls)}
    where = f"{path.name} entry {index} ({entry.get('id', '?')})"
    unknown = sorted(set(entry) - names)
    if unknown:
        raise InputError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(names)}")
    src = entry.get("src", {})
    for key, value in entry.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            note = src.get(key, "")
            if not note.startswith(("source:", "assumption:")):
                raise InputError(
                    f"{where}: field {key!r} = {value} has no 'source:' or 'assumption:' "
                    f"string in its src table"
                )
    try:
        return cls(**{**entry, "src": tuple(sorted(src.items()))})
    except TypeError as exc:
        raise InputError(f"{where}: {exc}") from None


def _load(cls: type, filename: str, table: str) -> dict[str, Any]:
    path = CATALOG_DIR / filename
    with path.open("rb") as fh:
        entries = tomllib.load(fh).get(table, [])
    out: dict[str, Any] = {}
    for i, entry in enumerate(entries):
        spec = _build(cls, entry, path, i)
        if spec.id in out:
            raise InputError(f"{path.name}: duplicate id {spec.id!r}")
        out[spec.id] = spec
    return out


@functools.cache
def chips() -> dict[str, Chip]:
    """All catalogued chips by id (loaded once)."""
    out: dict[str, Chip] = _load(Chip, "chips.toml", "chip")
    for chip in out.values():
        if chip.export_class not in EXPORT_CLASSES:
            raise InputError(
                f"chips.toml {chip.id}: export_class {chip.export_class!r}; "
                f"allowed: {', '.join(EXPORT_CLASSES)}"
            )
    return out


@functools.cache
def models() -> dict[str, ModelSpec]:
    """All catalogued models by id (loaded once)."""
    out: dict[str, ModelSpec] = _load(ModelSpec, "models.toml", "model")
    for m in out.values():
        if m.attention not in ATTENTION_KINDS:
            raise InputError(
                f"models.toml {m.id}: attention {m.attention!r}; "
                f"allowed: {', '.join(ATTENTION_KINDS)}"
            )
    return out


def _unknown(kind: str, bad: str, valid: list[str]) -> InputError:
    close = difflib.get_close_matches(bad, valid, n=3, cutoff=0.4)
    hint = f"; closest: {', '.join(close)}" if close else ""
    return InputError(f"unknown {kind} id {bad!r}{hint} (valid: {', '.join(valid)})")


def get_chip(chip_id: str | Chip) -> Chip:
    """The chip with this id (a Chip passes through); unknown ids name the closest."""
    if isinstance(chip_id, Chip):
        return chip_id
    table = chips()
    if chip_id not in table:
        raise _unknown("chip", str(chip_id), list(table))
    return table[chip_id]


def get_model(model_id: str | ModelSpec) -> ModelSpec:
    """The model with this id (a ModelSpec passes through); unknown ids name the closest."""
    if isinstance(model_id, ModelSpec):
        return model_id
    table = models()
    if model_id not in table:
        raise _unknown("model", str(model_id), list(table))
    return table[model_id]
