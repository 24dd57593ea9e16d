"""Fit the serving model's few efficiency factors on published, measured throughput.

The calibration set is ../shared/data/hw_benchmarks.csv (one row per measured run, each
with its source). A row's workload (batching mode, speculative decoding) is read from its
own framework and notes columns: these describe what was measured, they are not fitted.
The fit is least squares on log(predicted / measured) with a ridge prior pulling each
generation's factors toward the global ones, so a generation with few rows stays close to
what the others say and a chip never seen predicts from its specifications alone.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from hardware_models.efficiency import Efficiency
from hardware_models.serving import Techniques, serve_batch
from hardware_models.specs import get_chip

# assumption (rows whose notes say "MTP speculative decoding", DeepSeek-R1 min-latency):
# DeepSeek-V3 report (arXiv 2412.19437, 5.4.3) measures 85-90% acceptance of the MTP
# token; 3 draft tokens; an MTP module is one extra layer of 61, ~3% of a step with overhead.
MTP = Techniques(spec_accept_rate=0.85, spec_draft_tokens=3, spec_draft_cost=0.03)
STATIC = Techniques(batching="static")
GENERATIONS = ("ampere", "hopper", "blackwell")
N_GLOBAL = 5  # bw_eff, mfu, layer_us, seq_us, collective_us
# Physical ceilings: streaming GEMM reads reach 0.82 / 0.78 of datasheet bandwidth and bf16
# GEMMs ~0.78 of peak on a real H100 / H200 (benchmarks/results/h1x0_roofline.json); a
# fitted factor may go a little above what one kernel shape showed, never past these.
MAX_BW_EFF = 0.85
MAX_MFU = 0.90
RIDGE = 3.0  # weight of the prior that a generation's log-factor equals the global one


@dataclass(frozen=True)
class Row:
    """One measured benchmark row and how to reproduce its workload."""

    id: str
    model: str
    chip: str
    n_chips: int
    precision: str
    input_len: int
    output_len: int
    concurrency: float | None
    per_chip: bool
    value: float
    framework: str
    workload: str  # "continuous", "static", "mtp" or "excluded: <why>"


def _workload(framework: str, notes: str) -> str:
    """How the row was run, from its own description."""
    text = f"{framework} {notes}".lower()
    if "decode instance" in text or "decode section" in text:
        return "excluded: decode pool of a disaggregated deployment, not end to end"
    if "mtp" in text and "speculative" in text:
        return "mtp"
    # TensorRT-LLM v0.5.0 rows (the H200 launch blog) ran the same static gptSessionBenchmark.
    if "static batch" in text or "v0.5.0" in text:
        return "static"
    return "continuous"


def load_rows(path: str | Path) -> list[Row]:
    """The benchmark rows with a known output-throughput metric."""
    rows = []
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["metric"] not in ("output_tokens_per_s_total", "output_tokens_per_s_per_chip"):
                continue
            rows.append(Row(
                id=r["id"], model=r["model"], chip=r["chip"], n_chips=int(r["n_chips"]),
                precision=r["precision"], input_len=int(r["input_len"]),
                output_len=int(r["output_len"]),
                concurrency=float(r["concurrency"]) if r["concurrency"] else None,
                per_chip=r["metric"].endswith("per_chip"), value=float(r["value"]),
                framework=r["framework"], workload=_workload(r["framework"], r["notes"]),
            ))
    return rows


def predict(rows: Sequence[Row], eff: Efficiency) -> np.ndarray:
    """Predicted value of each row in its own metric (NaN where the model refuses it)."""
    out = np.full(len(rows), np.nan)
    for mode, tech in (("continuous", Techniques()), ("static", STATIC), ("mtp", MTP)):
        idx = [i for i, r in enumerate(rows) if r.workload == mode]
        if not idx:
            continue
        sel = [rows[i] for i in idx]
        res = serve_batch(
            [r.model for r in sel], [r.chip for r in sel], [r.n_chips for r in sel],
            [r.precision for r in sel], [r.input_len for r in sel], [r.output_len for r in sel],
            [r.concurrency for r in sel], techniques=tech, efficiency=eff,
        )
        per_chip = np.array([r.per_chip for r in sel])
        out[idx] = np.where(per_chip, res["output_tokens_per_s_per_chip"], res["output_tokens_per_s"])
    return out


def _unpack(x: np.ndarray) -> Efficiency:
    bw, mfu, layer_us, seq_us, coll_us = np.exp(x[:N_GLOBAL])
    gens = tuple(
        (g, float(min(bw * np.exp(x[N_GLOBAL + 2 * k]), MAX_BW_EFF)),
         float(min(mfu * np.exp(x[N_GLOBAL + 1 + 2 * k]), MAX_MFU)))
        for k, g in enumerate(GENERATIONS)
    )
    return Efficiency(bw_eff=float(bw), mfu=float(mfu), layer_us=float(layer_us), seq_us=float(seq_us),
                      collective_us=float(coll_us), by_generation=gens)


def fit(rows: Sequence[Row]) -> Efficiency:
    """Least-squares fit of log errors over the rows a workload mode can reproduce.

    Generations absent from ``rows`` keep the global factors (their deltas are held at 0
    by the ridge prior alone).
    """
    used = [r for r in rows if not r.workload.startswith("excluded")]
    meas = np.array([r.value for r in used])

    def residuals(x: np.ndarray) -> np.ndarray:
        pred = predict(used, _unpack(x))
        err = np.log(np.where(np.isfinite(pred) & (pred > 0), pred, 1e-9) / meas)
        return np.concatenate([err, RIDGE * x[N_GLOBAL:] / np.sqrt(len(used))])

    # Start at the factors measured on silicon (benchmarks/results/h100_roofline.json):
    # ~0.8 of peak bandwidth and ~0.78 of peak bf16 GEMM throughput.
    x0 = np.concatenate([np.log([0.8, 0.6, 20.0, 2.0, 8.0]), np.zeros(2 * len(GENERATIONS))])
    lo = np.concatenate([np.log([0.3, 0.1, 1.0, 0.1, 2.0]), np.full(2 * len(GENERATIONS), -0.7)])
    hi = np.concatenate([np.log([MAX_BW_EFF, MAX_MFU, 500.0, 50.0, 30.0]), np.full(2 * len(GENERATIONS), 0.7)])
    sol = least_squares(residuals, x0, bounds=(lo, hi), loss="soft_l1", f_scale=0.2)
    eff = _unpack(sol.x)
    seen = {get_chip(r.chip).generation for r in used}
    gens = tuple(g for g in eff.by_generation if g[0] in seen)
    return Efficiency(eff.bw_eff, eff.mfu, eff.layer_us, eff.seq_us, eff.collective_us, gens)


def ape(pred: np.ndarray, meas: np.ndarray) -> np.ndarray:
    """Absolute percentage error, in percent."""
    return np.abs(pred / meas - 1.0) * 100.0


def leave_one_chip_out(rows: Sequence[Row]) -> np.ndarray:
    """Each row predicted by factors fitted without any row of its chip."""
    out = np.full(len(rows), np.nan)
    for chip in sorted({r.chip for r in rows}):
        test = [i for i, r in enumerate(rows) if r.chip == chip]
        train = [r for r in rows if r.chip != chip]
        out[test] = predict([rows[i] for i in test], fit(train))
    return out


def write_efficiency(eff: Efficiency, stats: dict[str, float], path: Path) -> None:
    """Store fitted factors with their fit error as TOML (atomically: temp file + rename)."""
    lines = [
        "# Efficiency factors of the serving model, FITTED by `python benchmarks/hw_accuracy.py --write`",
        "# on ../shared/data/hw_benchmarks.csv (least squares on log errors, ridge prior per",
        "# generation; see hardware_models/calibration.py). Do not edit by hand.",
        "",
        "[fit]",
        *(f"{k} = {v:.6g}" if isinstance(v, float) else f"{k} = {v}" for k, v in stats.items()),
        "",
        "[global]",
        f"bw_eff = {eff.bw_eff:.6g}  # achieved fraction of datasheet HBM bandwidth",
        f"mfu = {eff.mfu:.6g}  # achieved fraction of datasheet peak at the serve precision",
        f"layer_us = {eff.layer_us:.6g}  # fixed time per layer per step",
        f"seq_us = {eff.seq_us:.6g}  # host time per sequence per step",
        f"collective_us = {eff.collective_us:.6g}  # latency of one tensor-parallel all-reduce",
    ]
    for gen, bw, mfu in eff.by_generation:
        lines += ["", f"[generation.{gen}]", f"bw_eff = {bw:.6g}", f"mfu = {mfu:.6g}"]
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)
