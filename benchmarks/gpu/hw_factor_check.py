"""Check the serving model's fitted efficiency factors against kernels run on a real GPU.

The fit (hardware_models/catalog/efficiency.toml) says what fraction of datasheet peak the
serving engines reached. This script measures, on the GPU it runs on, the kernels those
factors stand for: FP8 and BF16 matrix products of prefill and decode shapes, decode
attention reading a KV cache (GQA, as Llama-70B), and an elementwise pass over
activations. It needs torch and CUDA, so it is not part of the test suite:

    python benchmarks/gpu/hw_factor_check.py --peak-tb-s 4.8 --peak-bf16 989.5 --peak-fp8 1979 --out r.json
"""

from __future__ import annotations

import argparse

from device_roofline import emit, time_ms  # same CUDA-event timer; both scripts run from this folder


def measure(peak_tb_s: float, peak_bf16: float, peak_fp8: float) -> dict:
    import torch
    import torch.nn.functional as F

    dev = torch.device("cuda")
    out: dict = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    k = n = 8192

    # Matrix products: M tokens through an 8192x8192 weight, bf16 and fp8 (per-tensor scales).
    w16 = torch.randn(n, k, dtype=torch.bfloat16, device=dev)
    w8 = w16.to(torch.float8_e4m3fn)
    one = torch.ones((), device=dev)
    gemm = {}
    for m in (64, 256, 1024, 4096, 8192):
        x16 = torch.randn(m, k, dtype=torch.bfloat16, device=dev)
        x8 = x16.to(torch.float8_e4m3fn)
        ms16 = time_ms(lambda x16=x16: x16 @ w16.t())
        ms8 = time_ms(lambda x8=x8: torch._scaled_mm(x8, w8.t(), scale_a=one, scale_b=one,
                                                        out_dtype=torch.bfloat16))
        gemm[m] = {"bf16_tflops": 2 * m * k * n / ms16 / 1e9, "fp8_tflops": 2 * m * k * n / ms8 / 1e9}
    out["gemm"] = gemm

    # Decode-shaped fp8 products: a 1 GiB stack of weights (beyond any L2) read by B tokens.
    stack = [torch.randn(n, k, dtype=torch.bfloat16, device=dev).to(torch.float8_e4m3fn) for _ in range(16)]
    decode = {}
    for m in (16, 64, 256):  # fp8 products need a multiple of 16 rows
        x8 = torch.randn(m, k, dtype=torch.bfloat16, device=dev).to(torch.float8_e4m3fn)
        ms = time_ms(lambda x8=x8: [torch._scaled_mm(x8, w.t(), scale_a=one, scale_b=one,
                                                         out_dtype=torch.bfloat16) for w in stack])
        decode[m] = {"ms": ms, "weight_tb_s": 16 * k * n / ms / 1e9}
    out["fp8_decode_gemm"] = decode

    # Decode attention: B sequences, 64 query heads over 8 KV heads of 128, context C, bf16.
    attn = {}
    for b, c in ((64, 1024), (64, 4096), (256, 2048), (16, 16384)):
        q = torch.randn(b, 64, 1, 128, dtype=torch.bfloat16, device=dev)
        kv = torch.randn(2, b, 8, c, 128, dtype=torch.bfloat16, device=dev)
        ms = time_ms(lambda q=q, kv=kv: F.scaled_dot_product_attention(q, kv[0], kv[1], enable_gqa=True))
        attn[f"{b}x{c}"] = {"ms": ms, "kv_tb_s": kv.numel() * 2 / ms / 1e9}
    out["decode_attention"] = attn

    # Elementwise: RMSNorm-like pass over 8192 tokens x 8192 hidden (read + write).
    h = torch.randn(8192, 8192, dtype=torch.bfloat16, device=dev)
    g = torch.ones(8192, dtype=torch.bfloat16, device=dev)
    ms = time_ms(lambda: F.rms_norm(h, (8192,), g))
    out["rmsnorm_tb_s"] = 2 * h.numel() * 2 / ms / 1e9

    out["fractions"] = {
        "fp8_gemm_of_peak_best": max(v["fp8_tflops"] for v in gemm.values()) / peak_fp8,
        "bf16_gemm_of_peak_best": max(v["bf16_tflops"] for v in gemm.values()) / peak_bf16,
        "fp8_decode_gemm_bw_best": max(v["weight_tb_s"] for v in decode.values()) / peak_tb_s,
        "decode_attention_bw_best": max(v["kv_tb_s"] for v in attn.values()) / peak_tb_s,
        "rmsnorm_bw": out["rmsnorm_tb_s"] / peak_tb_s,
    }
    out["peaks"] = {"hbm_tb_s": peak_tb_s, "bf16_tflops": peak_bf16, "fp8_tflops": peak_fp8}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peak-tb-s", type=float, required=True)
    parser.add_argument("--peak-bf16", type=float, required=True)
    parser.add_argument("--peak-fp8", type=float, required=True)
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args()
    emit(measure(args.peak_tb_s, args.peak_bf16, args.peak_fp8), args.out)


if __name__ == "__main__":
    main()
