"""Physics of the serving model: directions that any calibration must keep."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from hardware_models.efficiency import fitted
from hardware_models.errors import InputError
from hardware_models.serving import (
    PRECISIONS,
    RESULT_FIELDS,
    Techniques,
    serve,
    serve_batch,
    serve_cached,
)
from hardware_models.specs import ModelSpec, get_chip, get_model


def test_throughput_rises_with_memory_bandwidth() -> None:
    base = get_chip("h100-sxm")
    fast = dataclasses.replace(base, id="h100-fast", hbm_tb_s=base.hbm_tb_s * 1.5)
    for conc in (16, 64, 256):  # decode-dominated: bandwidth-bound
        slow = serve("llama-3.1-70b", base, 4, "fp8", 128, 2048, concurrency=conc)
        quick = serve("llama-3.1-70b", fast, 4, "fp8", 128, 2048, concurrency=conc)
        assert quick.output_tokens_per_s > slow.output_tokens_per_s * 1.05
    # At the max-throughput point it never falls (it may be compute-bound there).
    assert serve("llama-3.1-70b", fast, 4, "fp8", 128, 2048).output_tokens_per_s >= \
        serve("llama-3.1-70b", base, 4, "fp8", 128, 2048).output_tokens_per_s
    # Without fixed per-step costs, a bandwidth-bound step scales with bandwidth itself.
    bare = dataclasses.replace(fitted(), layer_us=0.0, seq_us=0.0, collective_us=0.0)
    out = serve_batch("llama-3.1-70b", [base, fast], 1, "fp8", 128, 2048, 8, efficiency=bare)
    assert out["output_tokens_per_s"][1] / out["output_tokens_per_s"][0] == pytest.approx(1.5, rel=0.05)


def test_throughput_falls_with_context_length() -> None:
    rates = [serve("llama-3.1-8b", "h100-sxm", 1, "fp8", i, 512).output_tokens_per_s
             for i in (128, 1024, 4096, 16384)]
    assert all(a > b for a, b in zip(rates, rates[1:]))


def test_decode_speed_falls_with_context_at_fixed_concurrency() -> None:
    short = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 1000, 1000, concurrency=64)
    long = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 30000, 1000, concurrency=64)
    assert long.tpot_ms > short.tpot_ms
    assert long.step_kv_ms > 10 * short.step_kv_ms


def _dense_twin(model_id: str) -> ModelSpec:
    """A dense model with the MoE's total size: every parameter active."""
    m = get_model(model_id)
    return dataclasses.replace(m, id=f"dense-{model_id}", active_params_b=m.total_params_b,
                               experts=0, top_k=0, moe_ffn=0, ffn=m.moe_ffn * m.experts)


def test_moe_far_cheaper_per_token_than_dense_of_same_total_size() -> None:
    # Max throughput: compute per token is the active share (Mixtral 12.9 of 46.7B).
    moe = serve("mixtral-8x7b", "h100-sxm", 2, "fp8", 1000, 1000)
    dense = serve(_dense_twin("mixtral-8x7b"), "h100-sxm", 2, "fp8", 1000, 1000)
    assert moe.output_tokens_per_s > 2 * dense.output_tokens_per_s
    # Low batch: a fine-grained MoE reads only the experts it touches (8 of 128 per layer).
    q = serve("qwen3-235b-a22b", "h200-sxm", 8, "fp8", 200, 1000, concurrency=1)
    qd = serve(_dense_twin("qwen3-235b-a22b"), "h200-sxm", 8, "fp8", 200, 1000, concurrency=1)
    assert q.step_weights_ms < 0.2 * qd.step_weights_ms
    assert q.tpot_ms < qd.tpot_ms  # fixed per-layer costs are the same for both


def test_moe_reads_only_touched_experts() -> None:
    one = serve("deepseek-v3", "h200-sxm", 8, "fp8", 1000, 1000, concurrency=1)
    many = serve("deepseek-v3", "h200-sxm", 8, "fp8", 1000, 1000, concurrency=256)
    # One token touches 8 of 256 experts per layer; 256 sequences touch nearly all.
    assert one.step_weights_ms < 0.2 * many.step_weights_ms


def test_more_chips_never_lower_max_throughput() -> None:
    n = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64])
    out = serve_batch("llama-3.1-70b", "h100-sxm", n, "fp8", 1000, 1000)
    tps = out["output_tokens_per_s"]
    assert out["error"][0] == "" or math.isnan(tps[0])
    ok = ~np.isnan(tps)
    assert ok.sum() >= 9
    assert np.all(np.diff(tps[ok]) >= 0), tps


def test_memory_limit_enforced_with_clear_error() -> None:
    with pytest.raises(InputError, match="does not fit"):
        serve("llama-3.1-405b", "h100-sxm", 2, "bf16", 1000, 1000)
    out = serve_batch(["llama-3.1-405b", "llama-3.1-8b"], "h100-sxm", [2, 1], "bf16", 1000, 1000)
    assert "does not fit" in out["error"][0] and out["error"][1] == ""
    assert math.isnan(out["output_tokens_per_s"][0]) and out["output_tokens_per_s"][1] > 0


def test_concurrency_above_memory_limit_is_clamped() -> None:
    r = serve("llama-3.1-70b", "h100-sxm", 2, "fp8", 4000, 4000, concurrency=10_000)
    assert r.concurrency == r.max_concurrency < 10_000


def test_bad_rows_get_errors_and_others_still_compute() -> None:
    out = serve_batch(
        ["llama-3.1-8b", "llama-3.1-8x", "llama-3.1-8b", "llama-3.1-8b", "llama-3.1-8b"],
        ["h100-sxm", "h100-sxm", "a100-80gb-sxm", "h100-sxm", "h100-sxm"],
        [1, 1, 1, 1, 1], ["fp8", "fp8", "fp8", "fp8", "fp9"], [128, 128, 128, -5, 128],
        [128, 128, 128, 128, 128],
    )
    err = out["error"]
    assert err[0] == ""
    assert "llama-3.1-8b" in err[1]  # closest id named
    assert "fp8" in err[2] and "a100" in err[2]  # precision the chip lacks
    assert "input_len" in err[3]
    assert "precision" in err[4]
    assert out["output_tokens_per_s"][0] > 0 and np.isnan(out["output_tokens_per_s"][1:]).all()


def test_serve_batch_equals_serve_elementwise() -> None:
    models_ = ["llama-3.1-8b", "llama-3.1-70b", "mixtral-8x7b", "deepseek-v3", "qwen3-235b-a22b"]
    chips_ = ["h100-sxm", "h200-sxm", "a100-80gb-sxm", "b200", "mi300x"]
    precs = ["fp8", "fp8", "fp16", "fp4", "bf16"]
    n = [1, 4, 2, 8, 8]
    conc = [None, 64, None, 512, None]
    out = serve_batch(models_, chips_, n, precs, [1000, 2048, 128, 1024, 4000], [1000, 128, 2048, 2048, 500], conc)
    for i in range(5):
        r = serve(models_[i], chips_[i], n[i], precs[i], out["input_len"][i], out["output_len"][i], conc[i])
        for name in RESULT_FIELDS:
            got, want = out[name][i], getattr(r, name)
            if isinstance(want, str):
                assert got == want, (i, name)
            else:
                assert float(got) == pytest.approx(want, rel=1e-12), (i, name)


def test_serve_cached_returns_the_same_result() -> None:
    a = serve_cached("llama-3.1-70b", "h200-sxm", 8, "fp8", 1000, 1000)
    b = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 1000, 1000)
    assert a == b
    assert serve_cached("llama-3.1-70b", "h200-sxm", 8, "fp8", 1000, 1000) is a


def test_latency_fields_are_consistent() -> None:
    r = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 1000, 1000, concurrency=32)
    assert r.tpot_ms == pytest.approx(r.step_ms)
    assert r.output_tokens_per_s == pytest.approx(32 / (r.step_ms / 1e3))
    assert r.ttft_ms > r.step_ms
    assert r.bound in ("memory", "compute")


def test_precisions_and_quantised_kv_raise_capacity() -> None:
    assert PRECISIONS == ("bf16", "fp16", "fp8", "int8", "int4", "fp4")
    bf16 = serve("llama-3.1-70b", "h100-sxm", 4, "bf16", 4000, 1000)
    fp8 = serve("llama-3.1-70b", "h100-sxm", 4, "fp8", 4000, 1000)
    kv8 = serve("llama-3.1-70b", "h100-sxm", 4, "bf16", 4000, 1000, techniques=Techniques(kv_precision="fp8"))
    assert fp8.max_concurrency > bf16.max_concurrency
    assert kv8.max_concurrency > 1.8 * bf16.max_concurrency
    assert fp8.output_tokens_per_s > bf16.output_tokens_per_s


def test_techniques_move_the_right_figures() -> None:
    base = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 200, 2000, concurrency=16)
    spec = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 200, 2000, concurrency=16,
                 techniques=Techniques(spec_accept_rate=0.7, spec_draft_tokens=4, spec_draft_cost=0.05))
    assert spec.tpot_ms < 0.6 * base.tpot_ms
    cached = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 2000, 200,
                   techniques=Techniques(prefix_cache_hit_rate=0.8))
    full = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 2000, 200)
    assert cached.output_tokens_per_s > 1.5 * full.output_tokens_per_s
    static = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 2000, 200, concurrency=64,
                   techniques=Techniques(batching="static"))
    cont = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 2000, 200, concurrency=64)
    assert static.output_tokens_per_s != cont.output_tokens_per_s
    disagg = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 2000, 200, concurrency=64,
                   techniques=Techniques(disaggregated=True))
    assert disagg.tpot_ms < cont.tpot_ms  # decode steps no longer carry prefill chunks
    slow_fabric = serve("llama-3.1-70b", "h200-sxm", 8, "fp8", 2000, 200,
                        techniques=Techniques(scaleup_gb_s=100.0))
    assert slow_fabric.output_tokens_per_s < full.output_tokens_per_s


@pytest.mark.parametrize("bad", [
    {"kv_precision": "fp7"}, {"prefix_cache_hit_rate": 1.0}, {"spec_accept_rate": -0.1},
    {"batching": "dynamic"}, {"scaleup_gb_s": 0.0}, {"max_batch_size": 0},
])
def test_techniques_validate(bad: dict) -> None:
    with pytest.raises(InputError):
        Techniques(**bad)


def test_factorize_groups_strings_exactly() -> None:
    from hardware_models.serving import _factorize

    keys = np.array(["h100-sxm", "b200", "h100-sxm", "", "b200", "h20", "h100-sxm"])
    uniq, first, inv = _factorize(keys)
    assert np.array_equal(uniq[inv], keys)
    assert np.array_equal(keys[first], uniq)
    assert len(uniq) == 4
