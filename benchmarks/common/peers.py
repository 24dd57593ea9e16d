"""Two roofline peers of the hardware model, called the same way on one benchmark row.

llm-analysis 0.2.2 (`llm_analysis.analysis.infer`) and GenZ (genz-llm 0.0.16,
`prefill_moddeling` / `decode_moddeling`) both model one static batch: prefill the whole
batch, then decode it token by token. End-to-end output throughput of one replica is
therefore batch x output_len / (prefill latency + output_len x mean decode step), with the
replica spread over all the row's chips by tensor parallelism. Where a row has no fixed
concurrency (a max-throughput run), each peer runs at the largest batch its own memory
model admits. Both are benchmark-only dependencies (the `bench` extra).
"""

from __future__ import annotations

import json
import logging
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Peer model names and GPU names for our catalog ids; llm-analysis ships configs for
# Llama-2 7B/70B only, so Llama-3.x shapes are written as llm-analysis config files.
LA_MODELS = {
    "llama-2-7b": "NousResearch_Llama-2-7b-hf",
    "llama-2-70b": "upstage_Llama-2-70b-instruct-v2",
}
LA_GPUS = {"h100-sxm": "h100-sxm-80gb", "a100-80gb-sxm": "a100-sxm-80gb"}
LA_DTYPES = {"fp8": "w8a8e16", "int8": "w8a8e16", "fp16": "w16a16e16", "bf16": "w16a16e16",
             "int4": "w4a16e16"}
GENZ_SYSTEMS = {"h100-sxm": "H100_GPU", "a100-80gb-sxm": "A100_80GB_GPU"}
GENZ_BITS = {"fp8": "fp8", "int8": "int8", "fp16": "bf16", "bf16": "bf16", "int4": "int4"}
# Llama-3.1 architecture shapes (Hugging Face config.json of each model), used to write
# llm-analysis configs; GenZ ships its own Llama-3.1 configs (passed as objects, since in
# 0.0.16 its "meta-llama/meta-llama-3.1-70b" key loads the Llama-2-70B config).
LLAMA3_SHAPES = {
    "llama-3.1-8b": dict(num_layers=32, n_head=32, hidden_dim=4096, num_key_value_heads=8,
                         intermediate=14336),
    "llama-3.1-70b": dict(num_layers=80, n_head=64, hidden_dim=8192, num_key_value_heads=8,
                          intermediate=28672),
    "llama-3.1-405b": dict(num_layers=126, n_head=128, hidden_dim=16384,
                           num_key_value_heads=8, intermediate=53248),
}
LLAMA3_SHAPES["llama-3.3-70b"] = LLAMA3_SHAPES["llama-3.1-70b"]


@dataclass(frozen=True)
class Row:
    """One benchmark configuration, in our catalog ids."""

    model: str
    chip: str
    n_chips: int
    precision: str
    input_len: int
    output_len: int
    concurrency: int | None


def _llm_analysis_model(model: str, workdir: Path) -> str:
    """The llm-analysis model name (shipped) or a config file written for a Llama-3.x shape."""
    if model in LA_MODELS:
        return LA_MODELS[model]
    s = LLAMA3_SHAPES[model]
    # llm-analysis counts two FFN matrices of ffn_embed_dim; SwiGLU has three of
    # `intermediate`, so 1.5 x intermediate keeps the FFN weight and FLOP count right; it
    # also requires a multiple of hidden_dim, so round to the nearest (within 5%).
    ffn = round(1.5 * s["intermediate"] / s["hidden_dim"]) * s["hidden_dim"]
    cfg = {"name": f"aibubble_{model}", "num_layers": s["num_layers"], "n_head": s["n_head"],
           "hidden_dim": s["hidden_dim"], "vocab_size": 128256, "max_seq_len": 131072,
           "num_key_value_heads": s["num_key_value_heads"],
           "ffn_embed_dim": ffn, "model_type": "llama"}
    path = workdir / f"aibubble_{model}.json"
    if not path.exists():
        path.write_text(json.dumps(cfg))
    return str(path)


class LlmAnalysis:
    """llm-analysis 0.2.2: one `infer` call is one prediction."""

    name = "llm-analysis"

    def __init__(self) -> None:
        from llm_analysis.analysis import infer

        self._infer = infer
        self._dir = Path(tempfile.mkdtemp(prefix="aibubble-llm-analysis-"))
        logging.getLogger("llm_analysis").setLevel(logging.ERROR)

    def supports(self, row: Row) -> bool:
        """Llama models on the GPUs it ships configs for."""
        return (row.model in LA_MODELS or row.model in LLAMA3_SHAPES) and row.chip in LA_GPUS

    def call(self, row: Row, batch: int, efficiency: float | None) -> dict[str, Any]:
        """One `infer` call: the peer's full prediction at a given batch."""
        eff = {} if efficiency is None else {"flops_efficiency": efficiency,
                                             "hbm_memory_efficiency": efficiency}
        return self._infer(
            model_name=_llm_analysis_model(row.model, self._dir), gpu_name=LA_GPUS[row.chip],
            dtype_name=LA_DTYPES[row.precision], log_level="ERROR", batch_size_per_gpu=batch,
            tp_size=row.n_chips, seq_len=row.input_len, num_tokens_to_generate=row.output_len,
            **eff)

    def batch(self, row: Row, efficiency: float | None) -> int:
        """The row's concurrency, or the largest batch llm-analysis's memory model admits
        (for decode, and for prefilling the whole batch at once, as it models)."""
        if row.concurrency:
            return row.concurrency
        out = self.call(row, 1, efficiency)
        return int(min(out["decode_max_batch_size_per_gpu"],
                       out["prefill_max_batch_size_per_gpu"]))

    def predict(self, row: Row, efficiency: float | None) -> float | None:
        """Output tokens/s of all the row's chips; None where the peer says it does not fit."""
        try:
            out = self.call(row, self.batch(row, efficiency), efficiency)
        except AssertionError:  # llm-analysis signals "does not fit in memory" by assert
            return None
        return float(out["total_tokens_per_sec"])


class GenZ:
    """GenZ 0.0.16: a prefill and a decode call make one prediction."""

    name = "GenZ"

    def __init__(self) -> None:
        warnings.filterwarnings("ignore", module="GenZ")
        from GenZ import decode_moddeling, prefill_moddeling
        from GenZ.Models.Model_sets import meta

        self._prefill, self._decode = prefill_moddeling, decode_moddeling
        self._configs = {
            "llama-2-7b": meta.llama2_7b_config, "llama-2-70b": meta.llama_70b_config,
            "llama-3.1-8b": meta.llama3_8b_config, "llama-3.1-70b": meta.llama3_70b_config,
            "llama-3.3-70b": meta.llama3_70b_config, "llama-3.1-405b": meta.llama3_405b_config,
        }

    def supports(self, row: Row) -> bool:
        """Llama models on the systems it ships."""
        return row.model in self._configs and row.chip in GENZ_SYSTEMS

    def _kw(self, row: Row, efficiency: float | None) -> dict[str, Any]:
        return dict(model=self._configs[row.model], system_name=GENZ_SYSTEMS[row.chip],
                    bits=GENZ_BITS[row.precision], tensor_parallel=row.n_chips,
                    system_eff=1.0 if efficiency is None else efficiency)

    def batch(self, row: Row, efficiency: float | None) -> int:
        """The row's concurrency, or the largest batch GenZ's memory model admits."""
        if row.concurrency:
            return row.concurrency
        from GenZ.LLM_inference import get_inference_system

        kw = self._kw(row, efficiency)
        _, table = self._decode(batch_size=1, Bb=1, input_tokens=row.input_len,
                                output_tokens=row.output_len, model_profilling=True, **kw)
        weights_mb = float(table["Total Weights (MB)"].iloc[0])
        kv_mb = float(table["KV Cache (MB)"].iloc[0])
        mem_mb = get_inference_system(system_name=kw["system_name"]).get_off_chip_mem_size()
        return max(int((mem_mb - weights_mb) // kv_mb), 0)

    def call(self, row: Row, batch: int, efficiency: float | None) -> float:
        """One prediction at a given batch: output tokens/s of the replica."""
        kw = self._kw(row, efficiency)
        pre = self._prefill(batch_size=batch, input_tokens=row.input_len, **kw)
        # Mean decode step over the generation: context = input + half the output.
        dec = self._decode(batch_size=batch, Bb=1, input_tokens=row.input_len,
                           output_tokens=row.output_len // 2, **kw)
        seconds = (pre["Latency"] + row.output_len * dec["Latency"]) / 1e3
        return batch * row.output_len / seconds

    def predict(self, row: Row, efficiency: float | None) -> float | None:
        """Output tokens/s of all the row's chips; None where the peer says it does not fit."""
        b = self.batch(row, efficiency)
        if b < 1:
            return None
        try:
            return self.call(row, b, efficiency)
        except ValueError:  # GenZ raises "All params would not fit on chip"
            return None
