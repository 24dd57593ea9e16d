"""The physics of LLM serving on arrays of configurations: a per-operator roofline.

How one configuration (model, chip, n_chips, precision, input and output lengths, and
optionally a concurrency) is served:

* layout: one tensor (and expert) parallel group over min(n_chips, scale-up domain)
  chips; past the domain, pipeline stages are added until the weights fit, and whole
  groups are replicated (data parallel) over the rest. ``Techniques(layout="best")``
  instead picks the group size with the most output.
* memory per chip: weights (all experts resident) / chips + activations + runtime reserve;
  what is left (times the engine's KV fraction) holds the KV cache: GQA/MHA heads x head
  dim, or the MLA latent, per token, replicated where TP exceeds the KV heads. The largest
  concurrency that fits reserves input + output tokens per sequence.
* one decode step for B sequences is a sum of operators, each at its own roofline
  max(bytes / achieved bandwidth, FLOPs / achieved compute): the matrix products (weights
  read once per step; for an MoE only the experts the step's tokens touch, 1 - (1 - k/E)^T
  of them; 2 x active parameters FLOPs per token), decode attention (the KV cache read),
  prefill attention (quadratic, compute), elementwise kernels streaming the activations,
  then TP collectives and fixed per-layer and per-sequence costs.
* continuous batching: every step also carries the chunked prefill of the requests that
  replace finished ones (B x input / output tokens per step), with its quadratic attention;
  throughput = B / step time. Static batching prefills the whole batch, then decodes it.
* techniques (``Techniques``): weight-only quantisation, KV-cache precision, prefix-cache
  hits, speculative decoding, prefill/decode disaggregation, static batching, an
  interconnect override, the engine's batch cap.

Everything here works on numpy arrays (one element per configuration); ``serving`` turns
ids and user input into those arrays and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hardware_models.efficiency import Efficiency
from hardware_models.errors import InputError

PRECISIONS = ("bf16", "fp16", "fp8", "int8", "int4", "fp4")

# Bytes per stored weight. fp4 is NVFP4 (one fp8 scale per 16 values: 4.5 bits); int4 is
# AWQ/GPTQ-style with one fp16 scale per 128 values (4.25 bits).
WEIGHT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.53, "fp4": 0.5625}
KV_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5, "fp4": 0.5}
# Default KV-cache precision per serving precision: quantised checkpoints ship an fp8 KV
# cache (NVIDIA ModelOpt fp8/nvfp4 recipes); weight-only int4 keeps a 16-bit cache.
DEFAULT_KV = {"bf16": "bf16", "fp16": "fp16", "fp8": "fp8", "int8": "int8", "int4": "bf16", "fp4": "fp8"}

# Engine memory settings (assumptions, stated):
KV_MEMORY_FRACTION = 0.90  # TensorRT-LLM kv_cache_free_gpu_memory_fraction and vLLM gpu_memory_utilization default 0.9
RUNTIME_RESERVE_GB = 2.0  # CUDA context, NCCL and GEMM workspaces: ~1.5-3 GB in nvidia-smi on a loaded engine
MAX_NUM_TOKENS = 8192  # TensorRT-LLM default max_num_tokens: the chunk a prefill step processes at most
# assumption: activation round trips per layer in unfused elementwise kernels: hidden-sized
# (2 RMSNorms in/out, 2 residual adds, rotary, quantise-before-GEMM, all-reduce in/out) ~8;
# MLP-sized (gate/up output, SiLU-and-mul in/out, down-proj input) ~4.
ACT_HIDDEN_PASSES = 8.0
ACT_FFN_PASSES = 4.0
COMM_BW_EFF = 0.8  # nccl-tests all-reduce bus bandwidth ~ 360 of 450 GB/s per direction on NVLink4
GIB = float(1 << 30)  # vendors' "80 GB" HBM is 80 GiB (nvidia-smi shows 81,559 MiB on an H100)


@dataclass(frozen=True)
class Techniques:
    """Serving techniques as explicit, physical parameters (defaults: none applied).

    Attributes:
        weight_precision: store weights at this precision while computing at the serve
            precision (weight-only quantisation); None = the serve precision.
        kv_precision: KV-cache precision; None = fp8 for 8- and 4-bit float serving, else 16-bit.
        prefix_cache_hit_rate: share of input tokens found in a prefix cache (not prefilled).
        spec_accept_rate: speculative decoding, per-token acceptance probability (0 = off).
        spec_draft_tokens: tokens the draft proposes per step.
        spec_draft_cost: one draft step's time as a fraction of the target model's step.
        disaggregated: prefill and decode on separate chips (decode steps carry no prefill).
        batching: "continuous" (in-flight) or "static" (a batch is prefilled, then decoded).
        scaleup_gb_s: override the chip's scale-up bandwidth (a fabric change).
        max_batch_size: the engine's cap on sequences per instance (TensorRT-LLM default 2048).
        layout: "single" serves the model as ONE tensor-parallel group over the n chips (up
            to the scale-up domain; beyond it, domain-sized groups with pipeline stages as
            needed, replicated), as published benchmarks run it; "best" picks per row the
            group size (1, 2, 4, ... chips, replicated over the rest) with the most output.
    """

    weight_precision: str | None = None
    kv_precision: str | None = None
    prefix_cache_hit_rate: float = 0.0
    spec_accept_rate: float = 0.0
    spec_draft_tokens: int = 0
    spec_draft_cost: float = 0.0
    disaggregated: bool = False
    batching: str = "continuous"
    scaleup_gb_s: float | None = None
    max_batch_size: int = 2048
    layout: str = "single"

    def __post_init__(self) -> None:
        for name in ("weight_precision", "kv_precision"):
            value = getattr(self, name)
            if value is not None and value not in PRECISIONS:
                raise InputError(f"Techniques.{name}: {value!r}; allowed: {', '.join(PRECISIONS)} or None")
        for name in ("prefix_cache_hit_rate", "spec_accept_rate"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise InputError(f"Techniques.{name}: {value}; allowed: 0 <= value < 1")
        if self.spec_draft_tokens < 0 or self.spec_draft_cost < 0:
            raise InputError("Techniques.spec_draft_tokens and spec_draft_cost must be >= 0")
        if self.batching not in ("continuous", "static"):
            raise InputError(f"Techniques.batching: {self.batching!r}; allowed: continuous, static")
        if self.scaleup_gb_s is not None and self.scaleup_gb_s <= 0:
            raise InputError(f"Techniques.scaleup_gb_s: {self.scaleup_gb_s}; allowed: > 0 or None")
        if self.layout not in ("single", "best"):
            raise InputError(f"Techniques.layout: {self.layout!r}; allowed: single, best")
        if self.max_batch_size < 1:
            raise InputError(f"Techniques.max_batch_size: {self.max_batch_size}; allowed: >= 1")


def best_layout(single: dict[str, np.ndarray], n: np.ndarray, dom: np.ndarray,
                 args: tuple[Any, ...]) -> dict[str, np.ndarray]:
    """Per row, the instance size with the most output: 1, 2, 4, ... chips of TP, and
    n/2, n/4, ... (so that 2n chips can always run two copies of what n chips run),
    replicated over the n chips.

    The single-group layout is the first candidate, so ties keep it. One numpy pass per
    candidate size, not per configuration.
    """
    best = single
    score = np.where(single["max_concurrency"] >= 1, single["output_tokens_per_s"], -np.inf)
    group = np.minimum(n, dom)
    sizes = []
    size = 1.0
    while size < np.max(group):
        sizes.append((np.minimum(np.full_like(n, size), group), np.ones(n.shape, bool)))
        size *= 2
    div = 2.0
    while np.max(np.floor(n / div)) >= 1:
        sizes.append((np.clip(np.floor(n / div), 1.0, group), np.floor(n / div) >= 1))
        div *= 2
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    for tp, ok in sizes:
        if any(np.array_equal(tp, t) and np.array_equal(ok, o) for t, o in seen):
            continue  # n/2, n/4, ... can be a power of two already tried: a repeat never wins
        seen.append((tp, ok))
        cand = instance_figures(tp, *args)
        cs = np.where(ok & (cand["max_concurrency"] >= 1), cand["output_tokens_per_s"], -np.inf)
        better = cs > score
        best = {k: np.where(better, cand[k], v) for k, v in best.items()}
        score = np.maximum(score, cs)
    return best


def instance_figures(tp: np.ndarray, a: dict[str, np.ndarray], n: np.ndarray, i_len: np.ndarray,
                     o_len: np.ndarray, conc: np.ndarray, t: Techniques,
                     eff: Efficiency) -> dict[str, np.ndarray]:
    """The physics, on arrays, for instances of ``tp`` tensor-parallel chips.

    All rows are computed; invalid ones are masked by the caller.
    """
    bw = a["hbm_tb_s"] * 1e12 * a["bw_eff"]  # achieved bytes/s
    flops_mm = a["peak"] * 1e12 * a["mfu"]  # achieved matrix FLOP/s at the serve precision
    flops_att = a["bf16_tflops"] * 1e12 * a["mfu"]  # attention math runs in 16-bit
    link = (t.scaleup_gb_s if t.scaleup_gb_s is not None else a["scaleup_gb_s"]) * 1e9 / 2 * COMM_BW_EFF
    hbm = a["hbm_gb"] * GIB
    layers = a["layers"]

    # Layout: TP within the scale-up domain; an instance spanning the whole domain adds
    # pipeline stages (across domains) until the weights fit; instances are replicated.
    w_total = a["total_params_b"] * 1e9 * a["w_bytes"]
    dom = np.maximum(a["scaleup_domain"], 1)
    ffn_tok = np.maximum(a["ffn"], a["moe_ffn"] * a["top_k"])  # MLP width one token passes through
    # Activation workspace: a full prefill chunk's hidden states and MLP intermediates (bf16)
    # plus fp32 logits for a full batch.
    act_mem = MAX_NUM_TOKENS * (a["hidden"] * ACT_HIDDEN_PASSES + ffn_tok * ACT_FFN_PASSES / tp) * 2 \
        + t.max_batch_size * a["vocab"] * 4 / tp
    free = hbm - RUNTIME_RESERVE_GB * GIB - act_mem
    pp_need = np.ceil(w_total / (tp * np.maximum(free, 1.0) * 0.9))
    pp = np.where((n > dom) & (tp >= dom), np.clip(pp_need, 1.0, np.maximum(np.floor(n / dom), 1.0)), 1.0)
    m = tp * pp
    replicas = np.maximum(np.floor(n / m), 1.0)
    w_chip = w_total / m
    kv_cap_chip = KV_MEMORY_FRACTION * np.maximum(free - w_chip, 0.0)
    repl = np.where(a["mla"], 1.0, np.maximum(1.0, tp / np.maximum(a["kv_heads"], 1)))
    kv_tok = a["kv_elems"] * a["kv_bytes"] * repl  # bytes per token of context, per instance
    kv_seq = kv_tok * (i_len + o_len + t.spec_draft_tokens)
    max_inst = np.minimum(np.floor(m * kv_cap_chip / kv_seq), t.max_batch_size)
    b = np.where(np.isfinite(conc), np.minimum(conc / replicas, max_inst), max_inst)
    b = np.maximum(b, 0.0)

    # Speculative decoding: tokens per verify step and accepted tokens per step.
    alpha, k = t.spec_accept_rate, t.spec_draft_tokens
    s = 1 + k if alpha > 0 and k > 0 else 1
    accepted = (1 - alpha ** (k + 1)) / (1 - alpha) if s > 1 else 1.0
    draft_factor = 1 + k * t.spec_draft_cost if s > 1 else 1.0
    i_new = i_len * (1 - t.prefix_cache_hit_rate)
    ctx = i_len + o_len / 2  # mean context of a decoding sequence

    def step(b_dec: np.ndarray, p_tok: np.ndarray) -> dict[str, np.ndarray]:
        """One engine step: b_dec decoding sequences (s tokens each) plus p_tok prefill tokens.

        With pipeline stages it is one round: every stage runs all pp micro-batches over
        its layers, so weights are read pp times and everything else once.
        """
        toks = b_dec * s + p_tok
        touched = np.where(a["experts"] > 0, 1 - (1 - a["top_k"] / np.maximum(a["experts"], 1)) ** toks, 0.0)
        w_read = ((a["total_params_b"] - a["routed_b"]) + a["routed_b"] * touched) * 1e9 * a["w_bytes"] / m
        weights_t = pp * w_read / bw
        kv_t = b_dec * ctx * kv_tok / m / bw
        matmul_t = 2 * a["active_params_b"] * 1e9 * toks / m / flops_mm
        dqk_dec = np.where(a["mla"], a["kv_lora_rank"] + a["qk_rope_head_dim"], a["head_dim"])
        dv_dec = np.where(a["mla"], a["kv_lora_rank"], a["head_dim"])
        dv_pre = np.where(a["v_head_dim"] > 0, a["v_head_dim"], a["head_dim"])
        att_per_ctx = layers * a["heads"] * 2
        att_t = att_per_ctx * (b_dec * s * ctx * (dqk_dec + dv_dec)) / m / flops_att
        pre_att_t = att_per_ctx * p_tok * (i_len / 2) * (a["head_dim"] + dv_pre) / m / flops_att
        pre_mm_t = 2 * a["active_params_b"] * 1e9 * p_tok / m / flops_mm
        comm_t = np.where(
            tp > 1,
            2 * layers * (eff.collective_us * 1e-6 + 2 * (tp - 1) / tp * toks / pp * a["hidden"] * 2 / link),
            0.0,
        )
        # Elementwise kernels (norms, residual adds, rotary, activation, quantise) stream
        # the activations: hidden-sized ones are replicated on every TP rank.
        act_t = toks * layers / pp * (ACT_HIDDEN_PASSES * a["hidden"] + ACT_FFN_PASSES * ffn_tok / tp) * 2 / bw
        overhead_t = eff.layer_us * 1e-6 * layers + eff.seq_us * 1e-6 * b_dec
        # Operators run one after another, each at its own roofline: the GEMMs (weights
        # read once for all tokens of the step), decode attention (KV read), prefill
        # attention (compute), then the collectives and fixed costs.
        total = (np.maximum(weights_t, matmul_t) + np.maximum(kv_t, att_t) + pre_att_t
                 + act_t + comm_t + overhead_t) * draft_factor
        mem_t = weights_t + kv_t + act_t
        comp_t = matmul_t + att_t + pre_att_t
        return {
            "step": total, "weights": weights_t, "kv": kv_t, "matmul": matmul_t - pre_mm_t,
            "attention": att_t, "prefill": pre_mm_t + pre_att_t, "activations": act_t, "comm": comm_t,
            "overhead": overhead_t, "memory_bound": mem_t >= comp_t,
        }

    zero = np.zeros_like(b)
    if t.batching == "static":
        dec = step(b, zero)
        prefill_batch = step(zero, b * i_new)["step"]
        total_time = prefill_batch + o_len / accepted * dec["step"]
        tput_inst = b * o_len / total_time
        ttft = prefill_batch
        tpot = dec["step"] / accepted
    elif t.disaggregated:
        dec = step(b, zero)
        chunk = np.full_like(b, MAX_NUM_TOKENS)
        pre_tok_t = step(zero, chunk)["step"] / MAX_NUM_TOKENS  # instance-seconds per prefill token
        inst_s_per_out = dec["step"] / (b * accepted) + pre_tok_t * i_new / o_len
        tput_inst = 1.0 / inst_s_per_out
        ttft = step(zero, i_new)["step"]  # the prefill pool takes it alone
        tpot = dec["step"] / accepted
    else:
        dec = step(b, b * accepted * i_new / o_len)
        tput_inst = b * accepted / dec["step"]
        ttft = step(np.maximum(b - 1, 0), i_new)["step"]  # its prefill rides with the others' decode
        tpot = dec["step"] / accepted

    tput = tput_inst * replicas
    ms = 1e3
    return {
        "concurrency": b * replicas,
        "max_concurrency": np.maximum(max_inst, 0) * replicas,
        "output_tokens_per_s": tput,
        "output_tokens_per_s_per_chip": tput / n,
        "requests_per_s": tput / o_len,
        "ttft_ms": ttft * ms,
        "tpot_ms": tpot * ms,
        "bound": np.where(dec["memory_bound"], "memory", "compute"),
        "tensor_parallel": tp,
        "pipeline_parallel": pp,
        "replicas": replicas,
        "weights_gb_per_chip": w_chip / 1e9,
        "kv_cache_gb_per_chip": kv_cap_chip / 1e9,
        "kv_mb_per_sequence": kv_seq / 1e6,
        "step_ms": dec["step"] * ms,
        "step_weights_ms": dec["weights"] * ms,
        "step_kv_ms": dec["kv"] * ms,
        "step_matmul_ms": dec["matmul"] * ms,
        "step_attention_ms": dec["attention"] * ms,
        "step_prefill_ms": dec["prefill"] * ms,
        "step_activations_ms": dec["activations"] * ms,
        "step_comm_ms": dec["comm"] * ms,
        "step_overhead_ms": dec["overhead"] * ms,
    }

