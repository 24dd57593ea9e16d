"""The techniques the industry counts on: the gain the hardware model computes from physics,
beside the gain the source articles quote. These are checks of the model, not inputs to it.

Run:  .venv/bin/python benchmarks/techniques.py
For each technique: a stated configuration, the model's gain (variant / baseline, from
`hardware_models.serving` with `Techniques` parameters), the quoted range, whether the
model lands in it, and where and why it does not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.table import Table

from hardware_models import serving, specs, tco
from hardware_models.serving import Techniques

GPU_HOUR_USD = 2.0  # one rented price, so cost ratios are throughput ratios per chip
# What the source articles quote (issue 2); each Check turns it into a numeric range.
QUOTES = {
    "FP16 vs FP32": "about 2x throughput, 2x memory",
    "INT8 quantisation": "2-4x throughput, 2x memory",
    "KV-cache quantisation": "30-50% less memory at long context",
    "Speculative decoding": "2-3x lower latency with a good draft",
    "Continuous batching": "5-10x utilisation over static",
    "MoE ~ 7B dense cost": "67B-total MoE at about a 7B dense model's cost",
    "Mooncake (disagg. + prefix cache)": "several times more requests on the same GPUs",
    "Network fabric change": "+15% throughput on the same hardware",
}


@dataclass(frozen=True)
class Check:
    """One technique: what is compared, the model's gain, the quoted range, and a note."""

    technique: str
    config: str
    metric: str
    gain: float
    quoted: tuple[float, float]
    note: str

    @property
    def quote(self) -> str:
        """The gain as the source articles put it (issue 2), for the printed table."""
        return QUOTES[self.technique]

    @property
    def verdict(self) -> str:
        lo, hi = self.quoted
        if lo <= self.gain <= hi:
            return "in range"
        return "below" if self.gain < lo else "above"


def serve(model: str | specs.ModelSpec, chip: str | specs.Chip, n: int, prec: str,
          i: int, o: int, conc: float | None = None,
          t: Techniques = Techniques()) -> serving.ServingResult:
    return serving.serve(model, chip, n, prec, i, o, concurrency=conc, techniques=t)


def fp32_chip(chip: specs.Chip) -> specs.Chip:
    """The chip as seen by an FP32 model served with 16-bit kernels' maths.

    serving.PRECISIONS has no fp32, so FP32 is emulated exactly in roofline terms: every
    byte (weights, KV cache, activations on the links) doubles, which is the same as half
    the HBM bandwidth, half the capacity (the runtime reserve kept whole) and half the
    scale-up bandwidth; the math runs as TF32 on tensor cores, half the BF16 rate
    (H100 SXM datasheet: TF32 494.7 vs BF16 989.5 TFLOP/s dense).
    """
    reserve = 2.0  # GB per chip the serving model keeps for the runtime (its stated assumption)
    return dataclasses.replace(chip, id=f"{chip.id}-as-fp32", hbm_tb_s=chip.hbm_tb_s / 2,
                               hbm_gb=(chip.hbm_gb - reserve) / 2 + reserve,
                               scaleup_gb_s=chip.scaleup_gb_s / 2,
                               bf16_tflops=chip.bf16_tflops / 2)


def mem_per_chip_gb(r: serving.ServingResult, n: int) -> float:
    """Weights plus the KV cache of the sequences in flight, per chip."""
    return r.weights_gb_per_chip + r.concurrency * r.kv_mb_per_sequence / 1e3 / n


def cost(r: serving.ServingResult, n: int) -> float:
    return float(tco.cost_per_mtok_usd(r.output_tokens_per_s, n, GPU_HOUR_USD))


def fp16_vs_fp32() -> list[Check]:
    chip = specs.get_chip("a100-80gb-sxm")
    args = ("llama-3.1-8b", 1, "bf16", 1024, 256)
    r16 = serve(args[0], chip, *args[1:])
    r32 = serve(args[0], fp32_chip(chip), *args[1:])
    c1_16 = serve(args[0], chip, *args[1:], conc=1)
    c1_32 = serve(args[0], fp32_chip(chip), *args[1:], conc=1)
    cfg = "llama-3.1-8b, 1 x A100-80GB, 1024/256; FP32 emulated (bytes x2, TF32 math)"
    return [
        Check("FP16 vs FP32", cfg, "throughput, max-throughput point",
              r16.output_tokens_per_s / r32.output_tokens_per_s, (1.8, 2.2),
              f"FP32 also halves the KV room: {r32.max_concurrency:.0f} vs "
              f"{r16.max_concurrency:.0f} sequences, so the gain can exceed 2x"),
        Check("FP16 vs FP32", cfg, "throughput at concurrency 1",
              c1_16.output_tokens_per_s / c1_32.output_tokens_per_s, (1.8, 2.2),
              "bandwidth-bound: bytes halve, the fixed per-step overhead does not"),
        Check("FP16 vs FP32", cfg, "share of HBM the weights take (x less)",
              (r32.weights_gb_per_chip / fp32_chip(chip).hbm_gb)
              / (r16.weights_gb_per_chip / chip.hbm_gb), (1.9, 2.1),
              "2 vs 4 bytes per weight; a little under 2x as the runtime reserve stays whole"),
    ]


def int8_weights() -> list[Check]:
    out = []
    for chip, n in (("a100-80gb-sxm", 2), ("h100-sxm", 2)):
        args = ("llama-3.1-70b", chip, n)
        base = serve(*args, "bf16", 1024, 256)
        w8a8 = serve(*args, "int8", 1024, 256)
        w4 = serve(*args, "int4", 1024, 256)
        b1, q1 = serve(*args, "bf16", 1024, 256, 1), serve(*args, "int8", 1024, 256, 1)
        cfg = f"llama-3.1-70b, {n} x {chip}, 1024/256, bf16 -> int8 (W8A8)"
        out += [
            Check("INT8 quantisation", cfg, "throughput, max-throughput point",
                  w8a8.output_tokens_per_s / base.output_tokens_per_s, (2.0, 4.0),
                  f"int8 doubles the peak (compute) and the KV room ({w8a8.max_concurrency:.0f}"
                  f" vs {base.max_concurrency:.0f} seq); bound {base.bound} -> {w8a8.bound}"),
            Check("INT8 quantisation", cfg, "throughput at concurrency 1",
                  q1.output_tokens_per_s / b1.output_tokens_per_s, (2.0, 4.0),
                  "weight reads halve; TP all-reduce and fixed step overhead do not, so < 2x"),
            Check("INT8 quantisation", cfg.replace("int8 (W8A8)", "int4 (W4A16)"),
                  "throughput, max-throughput point",
                  w4.output_tokens_per_s / base.output_tokens_per_s, (2.0, 4.0),
                  "weight-only int4 computes in bf16: it helps only where decode is "
                  "bandwidth-bound"),
            Check("INT8 quantisation", cfg, "weight memory (x less)",
                  base.weights_gb_per_chip / w8a8.weights_gb_per_chip, (1.9, 2.1),
                  "exact: 1 vs 2 bytes per weight"),
        ]
    return out


def kv_quantisation() -> list[Check]:
    args = ("llama-3.1-70b", "h100-sxm", 4, "bf16", 32768, 1024)
    conc = 16
    b16 = serve(*args, conc, Techniques(kv_precision="bf16"))
    b8 = serve(*args, conc, Techniques(kv_precision="fp8"))
    m16, m8 = serve(*args, None, Techniques(kv_precision="bf16")), serve(
        *args, None, Techniques(kv_precision="fp8"))
    cfg = "llama-3.1-70b bf16, 4 x H100, 32k in / 1k out, 16 sequences, KV bf16 -> fp8"
    return [
        Check("KV-cache quantisation", cfg, "memory per chip (share saved)",
              1 - mem_per_chip_gb(b8, 4) / mem_per_chip_gb(b16, 4), (0.30, 0.50),
              f"KV is {b16.concurrency * b16.kv_mb_per_sequence / 1e3 / 4:.0f} of "
              f"{mem_per_chip_gb(b16, 4):.0f} GB per chip; halving it saves its share"),
        Check("KV-cache quantisation", cfg, "KV-cache memory (share saved)",
              1 - b8.kv_mb_per_sequence / b16.kv_mb_per_sequence, (0.30, 0.50),
              "exact: 1 vs 2 bytes per cached element"),
        Check("KV-cache quantisation", cfg.replace("16 sequences", "max throughput"),
              "throughput (x more)", m8.output_tokens_per_s / m16.output_tokens_per_s,
              (1.0, 2.0), f"twice the sequences fit ({m8.max_concurrency:.0f} vs "
              f"{m16.max_concurrency:.0f}) and each KV read halves"),
    ]


def speculative_decoding() -> list[Check]:
    args = ("llama-3.1-70b", "h100-sxm", 2, "fp8", 1024, 512)
    spec = Techniques(spec_accept_rate=0.8, spec_draft_tokens=4, spec_draft_cost=0.05)
    cfg = ("llama-3.1-70b fp8, 2 x H100, 1024/512; draft of 4 tokens, acceptance 0.8, "
           "draft step 5% of a target step")
    out = []
    for conc in (1, 64):
        base, sd = serve(*args, conc), serve(*args, conc, spec)
        out.append(Check(
            "Speculative decoding", cfg, f"time per output token (x lower), concurrency {conc}",
            base.tpot_ms / sd.tpot_ms, (2.0, 3.0),
            "a verify step of 5 tokens costs about one decode step while bandwidth-bound"
            if conc == 1 else "at large batches the step turns compute-bound and the gain "
            "shrinks, as engines observe"))
    return out


def continuous_batching() -> list[Check]:
    args = ("llama-2-7b", "a100-80gb-sxm", 1, "fp16", 512, 512)
    conc = 64
    cont = serve(*args, conc)
    stat = serve(*args, conc, Techniques(batching="static"))
    # Requests differ in length; a static batch runs until its longest output is done. With
    # outputs uniform on [1, 2 x 512] the longest of 64 is ~2 x 512 x 64/65 tokens.
    o_max = int(2 * 512 * conc / (conc + 1))
    stat_var = serve(args[0], args[1], 1, "fp16", 512, o_max, conc,
                     Techniques(batching="static"))
    util_var = stat_var.output_tokens_per_s * 512 / o_max
    cfg = "llama-2-7b fp16, 1 x A100, 512/512, 64 sequences"
    return [
        Check("Continuous batching", cfg + ", every request the same length",
              "throughput (x more) over static", cont.output_tokens_per_s /
              stat.output_tokens_per_s, (5.0, 10.0),
              "with equal lengths static batching wastes only the prefill stall"),
        Check("Continuous batching", cfg + ", outputs uniform on 1..1024",
              "throughput (x more) over static", cont.output_tokens_per_s / util_var,
              (5.0, 10.0),
              "adds the wait for the longest output; the quoted 5-10x (Anyscale 2023) also "
              "counts static engines' small memory-limited batches (HF generate)"),
    ]


def moe_vs_dense() -> list[Check]:
    mix = specs.get_model("mixtral-8x7b")
    # A Mixtral-shaped MoE of ~67B total: 12 experts of the same size, still top-2.
    per_expert = mix.expert_params_b
    mix12 = dataclasses.replace(mix, id="mixtral-12x7b", experts=12,
                                total_params_b=mix.total_params_b + 4 * per_expert)
    args = ("h100-sxm", 2, "fp8", 1024, 256)
    out = []
    for dense_id in ("llama-2-7b", "llama-3.1-8b"):  # MHA 7B (the claim's era), GQA 8B
        dense = serve(dense_id, *args)
        for m in (mix, mix12):
            r = serve(m, *args)
            out.append(Check(
                "MoE ~ 7B dense cost", f"{m.id} ({m.total_params_b:.0f}B total, "
                f"{m.active_params_b:.1f}B active) vs {dense_id}, 2 x H100 fp8, 1024/256",
                "cost per Mtok (MoE / dense)", cost(r, 2) / cost(dense, 2), (0.7, 1.5),
                f"KV per sequence {r.kv_mb_per_sequence:.0f} vs {dense.kv_mb_per_sequence:.0f}"
                f" MB (GQA vs {get_attention(dense_id)}) sets the batch; a large batch touches"
                f" every expert, so all {m.total_params_b:.0f}B are read per step; active "
                f"FLOPs are {m.active_params_b / specs.get_model(dense_id).active_params_b:.1f}"
                f"x the dense model's"))
    return out


def get_attention(model_id: str) -> str:
    return specs.get_model(model_id).attention.upper()


def mooncake() -> list[Check]:
    args = ("llama-3.1-70b", "h100-sxm", 8, "fp8", 8192, 256)
    base = serve(*args)
    var = serve(*args, None, Techniques(disaggregated=True, prefix_cache_hit_rate=0.5))
    dis = serve(*args, None, Techniques(disaggregated=True))
    cfg = ("llama-3.1-70b fp8, 8 x H100, 8k in / 256 out (long-prompt chat), "
           "prefix-cache hit 50%")
    slo = slo_gain(args, Techniques(disaggregated=True, prefix_cache_hit_rate=0.5),
                   tpot_slo_ms=50.0)
    return [
        Check("Mooncake (disagg. + prefix cache)", cfg, "requests/s (x more), no SLO",
              var.requests_per_s / base.requests_per_s, (2.0, 5.25),
              f"the prefix cache alone removes half the prefill; disaggregation alone gives "
              f"x{dis.requests_per_s / base.requests_per_s:.2f}"),
        Check("Mooncake (disagg. + prefix cache)", cfg, "requests/s (x more), TPOT <= 50 ms",
              slo, (2.0, 5.25),
              "under a latency SLO colocated prefill chunks inflate every decode step; "
              "Mooncake's 5.25x is its simulated best case, +75% on real traces"),
    ]


def slo_gain(args: tuple, variant: Techniques, tpot_slo_ms: float) -> float:
    """Requests/s at the largest concurrency meeting a TPOT SLO, variant over baseline."""
    grid = np.unique(np.round(np.geomspace(1, 4096, 80)))

    def best(t: Techniques) -> float:
        n = len(grid)
        r = serving.serve_batch(args[0], args[1], np.full(n, args[2]), args[3],
                                np.full(n, args[4]), np.full(n, args[5]), grid,
                                techniques=t)
        ok = (r["error"] == "") & (r["tpot_ms"] <= tpot_slo_ms)
        return float(np.max(np.where(ok, r["requests_per_s"], 0.0)))

    return best(variant) / best(Techniques())


def network_fabric() -> list[Check]:
    out = []
    for conc, label in ((None, "max-throughput point"), (1, "concurrency 1")):
        args = ("llama-3.1-70b", "h100-sxm", 8, "fp8", 1024, 256, conc)
        slow = serve(*args, Techniques(scaleup_gb_s=400.0))
        fast = serve(*args)
        out.append(Check(
            "Network fabric change", "llama-3.1-70b fp8, 8 x H100 (TP8), 1024/256: "
            "scale-up 400 GB/s (H800-class) -> 900 GB/s NVLink4", f"throughput (x more), {label}",
            fast.output_tokens_per_s / slow.output_tokens_per_s, (1.10, 1.20),
            f"all-reduce is {slow.step_comm_ms / slow.step_ms:.0%} of a step at 400 GB/s; "
            "the gain is that share, less the fixed per-collective latency"))
    return out


CHECKS: tuple[Callable[[], list[Check]], ...] = (
    fp16_vs_fp32, int8_weights, kv_quantisation, speculative_decoding, continuous_batching,
    moe_vs_dense, mooncake, network_fabric)


def main() -> None:
    table = Table(title="Techniques: the model's gain from physics vs the quoted gain",
                  show_lines=True)
    for col, kw in (("technique", {}), ("configuration", {"ratio": 3}), ("metric", {}),
                    ("model", {"justify": "right"}), ("quoted", {}),
                    ("range", {"justify": "right"}),
                    ("verdict", {}), ("where / why", {"ratio": 3})):
        table.add_column(col, **kw)
    with np.errstate(all="ignore"):
        checks = [c for fn in CHECKS for c in fn()]
    for c in checks:
        fmt = (lambda v: f"{v:.0%}") if c.quoted[1] <= 1 else (lambda v: f"{v:.2f}x")
        table.add_row(c.technique, c.config, c.metric, fmt(c.gain), c.quote,
                      f"{fmt(c.quoted[0])}-{fmt(c.quoted[1])}", c.verdict, c.note)
    Console(width=200).print(table)
    n_in = sum(c.verdict == "in range" for c in checks)
    print(f"{n_in} of {len(checks)} checks land in the quoted range")


if __name__ == "__main__":
    main()
