"""Calibration machinery: known factors are recovered, workloads are read from the rows."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from hardware_models import calibration as cal
from hardware_models.efficiency import EFFICIENCY_FILE, Efficiency, fitted

HEADER = "id,model,chip,n_chips,precision,input_len,output_len,concurrency,metric,value,framework,source,source_detail,notes\n"


def _rows() -> list[cal.Row]:
    """A spread of configurations over three generations and both batching modes."""
    cfgs = [
        ("llama-3.1-8b", "h100-sxm", 1, "fp8"), ("llama-3.1-70b", "h200-sxm", 2, "fp8"),
        ("llama-3.1-70b", "h100-sxm", 8, "fp8"), ("llama-3.3-70b", "b200", 1, "fp4"),
        ("llama-3.1-405b", "b200", 8, "fp4"), ("llama-2-70b", "a100-80gb-sxm", 4, "fp16"),
        ("llama-2-7b", "a100-80gb-sxm", 1, "fp16"), ("mixtral-8x7b", "a100-80gb-sxm", 2, "fp16"),
    ]
    rows = []
    for k, (m, c, n, p) in enumerate(cfgs):
        for i, o in ((128, 2048), (2048, 128), (1000, 1000), (20000, 2000)):
            if m.startswith("llama-2") and i > 2048:
                continue
            static = c.startswith("a100")
            rows.append(cal.Row(f"S{k}-{i}", m, c, n, p, i, o, 64.0 if static else None, False,
                                1.0, "synthetic", "static" if static else "continuous"))
    return rows


def test_fit_recovers_known_factors() -> None:
    truth = Efficiency(bw_eff=0.75, mfu=0.55, layer_us=40.0, seq_us=3.0, collective_us=12.0,
                       by_generation=(("ampere", 0.8, 0.6), ("blackwell", 0.7, 0.5), ("hopper", 0.75, 0.55)))
    rows = _rows()
    values = cal.predict(rows, truth)
    assert np.isfinite(values).all()
    synthetic = [cal.Row(**{**r.__dict__, "value": v}) for r, v in zip(rows, values)]
    got = cal.fit(synthetic)
    assert np.median(cal.ape(cal.predict(synthetic, got), values)) < 2.0
    for g, bw, mfu in truth.by_generation:
        bw2, mfu2 = got.for_generation(g)
        assert bw2 == pytest.approx(bw, rel=0.15) and mfu2 == pytest.approx(mfu, rel=0.15), g


def test_workload_read_from_row_description(tmp_path: Path) -> None:
    csv = tmp_path / "b.csv"
    csv.write_text(HEADER + "\n".join([
        'X1,llama-2-7b,a100-80gb-sxm,1,fp16,128,128,256,output_tokens_per_s_per_chip,5390,TensorRT-LLM v0.9.0,s,d,"gptSessionBenchmark static batch"',
        'X2,deepseek-v3,b200,8,fp4,1024,2048,1,output_tokens_per_s_total,274,TensorRT-LLM,s,d,"batch 1, MTP speculative decoding (3 nextn layers)"',
        'X3,deepseek-v3,h800-sxm,144,fp8,4096,2048,13200,output_tokens_per_s_per_chip,1850,RTP-LLM,s,"Decode section",decode instance of 144 H800',
        'X4,llama-3.1-8b,h100-sxm,1,fp8,128,128,,output_tokens_per_s_total,28312,TensorRT-LLM,s,d,"offline max-throughput"',
        'X5,llama-3.1-8b,h100-sxm,1,fp8,128,,,ttft_ms,20,TensorRT-LLM,s,d,"not a throughput row"',
    ]) + "\n")
    rows = {r.id: r for r in cal.load_rows(csv)}
    assert set(rows) == {"X1", "X2", "X3", "X4"}
    assert rows["X1"].workload == "static" and rows["X1"].per_chip
    assert rows["X2"].workload == "mtp" and not rows["X2"].per_chip
    assert rows["X3"].workload.startswith("excluded")
    assert rows["X4"].workload == "continuous" and rows["X4"].concurrency is None


def test_stored_factors_are_physical_and_meet_the_targets() -> None:
    data = tomllib.loads(EFFICIENCY_FILE.read_text())
    eff = fitted()
    assert eff.bw_eff == pytest.approx(data["global"]["bw_eff"])
    for _, bw, mfu in eff.by_generation + (("global", eff.bw_eff, eff.mfu),):
        assert 0.3 <= bw <= cal.MAX_BW_EFF and 0.1 <= mfu <= cal.MAX_MFU
    assert 0 < eff.collective_us <= 30 and eff.layer_us > 0 and eff.seq_us > 0
    fit = data["fit"]
    assert fit["rows"] >= 50
    assert fit["median_ape_pct"] <= 15 and fit["p90_ape_pct"] <= 40
