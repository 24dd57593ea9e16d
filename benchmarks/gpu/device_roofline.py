"""Measure the roofline efficiency factors on a real GPU (needs torch and CUDA).

The hardware model's decode is bound by achieved memory bandwidth and its prefill by
achieved matrix throughput. This script measures both on the GPU it runs on, with
decode-shaped products (a weight matrix read once per step by a small batch) and
prefill-shaped ones, so the fitted factors in hardware_models can be checked against
silicon. It is not part of the test suite: run it where a GPU is, e.g.

    python benchmarks/gpu/device_roofline.py --peak-tb-s 3.35 --peak-tflops 989.5 --out result.json

Prints one JSON object: measured TB/s and TFLOP/s, and their fractions of the peaks given.
"""

from __future__ import annotations

import argparse
import json
import statistics


def time_ms(fn, repeats: int = 20, warmup: int = 5) -> float:
    """Median time of fn() in milliseconds, timed with CUDA events."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def measure(peak_tb_s: float, peak_tflops: float) -> dict:
    """Copy bandwidth, decode-shaped GEMM bandwidth and prefill-shaped GEMM throughput."""
    import torch

    dev = torch.device("cuda")
    out: dict = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    n = 1 << 30  # 1 GiB of bf16 elements = 2 GiB
    a = torch.empty(n, dtype=torch.bfloat16, device=dev)
    b = torch.empty_like(a)
    ms = time_ms(lambda: b.copy_(a))
    out["copy_tb_s"] = 2 * a.numel() * a.element_size() / (ms / 1e3) / 1e12
    del a, b

    # Decode: a stack of 8192x8192 bf16 weights (like a 70B layer's projections) read by a
    # batch of B tokens; 8 matrices = 1 GiB so caches do not help.
    k = 8192
    weights = [torch.randn(k, k, dtype=torch.bfloat16, device=dev) for _ in range(8)]
    decode = {}
    for batch in (1, 8, 32, 64, 128, 256, 512):
        x = torch.randn(batch, k, dtype=torch.bfloat16, device=dev)
        ms = time_ms(lambda: [x @ w for w in weights])
        bytes_read = sum(w.numel() * w.element_size() for w in weights)
        flops = 2 * batch * k * k * len(weights)
        decode[batch] = {
            "ms": ms,
            "tb_s": bytes_read / (ms / 1e3) / 1e12,
            "tflops": flops / (ms / 1e3) / 1e12,
        }
    out["decode_gemm"] = decode

    # Prefill: large products, compute-bound.
    prefill = {}
    for m in (2048, 8192):
        x = torch.randn(m, k, dtype=torch.bfloat16, device=dev)
        ms = time_ms(lambda: x @ weights[0])
        prefill[m] = {"ms": ms, "tflops": 2 * m * k * k / (ms / 1e3) / 1e12}
    out["prefill_gemm"] = prefill

    best_bw = max(v["tb_s"] for v in decode.values())
    best_tf = max(v["tflops"] for v in prefill.values())
    out["achieved_bandwidth_fraction"] = best_bw / peak_tb_s
    out["achieved_compute_fraction"] = best_tf / peak_tflops
    out["peaks"] = {"hbm_tb_s": peak_tb_s, "bf16_tflops": peak_tflops}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak-tb-s", type=float, required=True, help="datasheet HBM TB/s")
    parser.add_argument("--peak-tflops", type=float, required=True, help="datasheet dense bf16 TFLOP/s")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    emit(measure(args.peak_tb_s, args.peak_tflops), args.out)


def emit(result: dict, out: str | None) -> None:
    """Print the result as JSON and, when asked, write the same text to a file."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        with open(out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
