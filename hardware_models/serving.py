"""LLM serving throughput from chip and model specifications: the library entry points.

``serve_batch`` evaluates arrays of configurations in one numpy pass (``roofline`` holds
the physics); ``serve`` and ``serve_cached`` are one-row views of it. Efficiency factors
come from ``efficiency.fitted()`` (catalog/efficiency.toml, fitted on
../shared/data/hw_benchmarks.csv by benchmarks/hw_accuracy.py --write).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from hardware_models.efficiency import Efficiency, fitted
from hardware_models.errors import InputError
from hardware_models.roofline import (
    DEFAULT_KV,
    KV_BYTES,
    PRECISIONS,
    WEIGHT_BYTES,
    Techniques,
    best_layout,
    instance_figures,
)
from hardware_models.specs import Chip, ModelSpec, get_chip, get_model

__all__ = ["PRECISIONS", "RESULT_FIELDS", "ServingResult", "Techniques", "serve", "serve_batch", "serve_cached"]


@dataclass(frozen=True)
class ServingResult:
    """One configuration's serving figures.

    The ``step_*_ms`` fields break one engine step (``step_ms``) into operators, each timed
    alone at its own roofline: weights read vs matmul (the GEMMs take the larger), KV read
    vs attention math (likewise), prefill work carried by the step, activation streaming,
    collectives and fixed overheads. ``bound`` says whether bytes or FLOPs dominate.
    """

    model: str
    chip: str
    n_chips: int
    precision: str
    input_len: int
    output_len: int
    concurrency: float
    max_concurrency: float
    output_tokens_per_s: float
    output_tokens_per_s_per_chip: float
    requests_per_s: float
    ttft_ms: float
    tpot_ms: float
    bound: str
    tensor_parallel: int
    pipeline_parallel: int
    replicas: int
    weights_gb_per_chip: float
    kv_cache_gb_per_chip: float
    kv_mb_per_sequence: float
    step_ms: float
    step_weights_ms: float
    step_kv_ms: float
    step_matmul_ms: float
    step_attention_ms: float
    step_prefill_ms: float
    step_activations_ms: float
    step_comm_ms: float
    step_overhead_ms: float


RESULT_FIELDS = tuple(f.name for f in fields(ServingResult))


def _resolve(items: Any, n: int, getter: Any, kind: str) -> tuple[np.ndarray, list[Any], np.ndarray, np.ndarray]:
    """Row ids, the distinct specs, each row's index into them, and each row's error.

    Rows are grouped by their text (an id, or a spec's repr, which differs whenever the
    spec does), so the getter runs once per distinct entry, never per row.
    """
    if isinstance(items, (str, Chip, ModelSpec)):
        items = [items]
    arr = np.asarray(items)
    if arr.dtype.kind != "U":
        arr = np.asarray(items, dtype=object)
    arr = arr.reshape(-1)
    if len(arr) == 1 and n != 1:
        arr = np.repeat(arr, n)
    keys = arr if arr.dtype.kind == "U" else arr.astype(str)
    uniq, first, inv = _factorize(keys)
    specs: list[Any] = []
    ids = np.empty(len(uniq), dtype=object)
    msgs = np.full(len(uniq), "", dtype=object)
    for j, i in enumerate(first):
        try:
            specs.append(getter(arr[i]))
            ids[j] = specs[-1].id
        except InputError as exc:
            specs.append(None)
            ids[j] = str(arr[i])
            msgs[j] = f"{kind}: {exc}"
    if not len(uniq):
        return np.array([], dtype=str), specs, inv, np.array([], dtype=object)
    return ids.astype(str)[inv], specs, inv, msgs[inv]


def _factorize(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique(keys, return_index, return_inverse) for a str array, without sorting strings.

    Rows are grouped by an integer hash of their code points (sorting ints is several
    times faster than sorting strings); every row is then checked against its group's
    first string, and any collision falls back to the exact string sort.
    """
    if keys.dtype.itemsize == 0 or len(keys) < 2:
        uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
        return uniq, first, inv.reshape(-1)
    codes = keys.view(np.uint32).reshape(len(keys), -1).astype(np.uint64)
    weights = np.uint64(1_000_003) ** np.arange(codes.shape[1], dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = (codes * weights).sum(axis=1, dtype=np.uint64)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    if not np.array_equal(keys[first][inv], keys):
        uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
        return uniq, first, inv.reshape(-1)
    return keys[first], first, inv


def _columns(specs: list[Any], inv: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Spec attributes as one array per name, one value per row (0 where a spec is missing).

    One table of distinct specs x attributes, indexed once: rows never touch Python.
    """
    table = np.array([[0.0 if s is None or getattr(s, k) is None else float(getattr(s, k)) for k in names]
                      for s in specs] or [[0.0] * len(names)], dtype=float)
    cols = np.ascontiguousarray(table.T)
    return {k: cols[j][inv] for j, k in enumerate(names)}


_MODEL_FIELDS = (
    "total_params_b", "active_params_b", "layers", "hidden", "ffn", "heads", "kv_heads", "head_dim",
    "v_head_dim", "vocab", "max_context", "experts", "top_k", "moe_ffn", "dense_layers", "kv_lora_rank",
    "qk_rope_head_dim", "routed_params_b", "kv_elements_per_token", "is_mla",
)
_CHIP_FIELDS = ("hbm_gb", "hbm_tb_s", "scaleup_gb_s", "scaleup_domain", "bf16_tflops")


def _lookup(uniq: np.ndarray, inv: np.ndarray, table: dict[str, float], default: float) -> np.ndarray:
    """Map distinct keys through a dict and spread the values back to the rows."""
    return np.array([table.get(u, default) for u in uniq] or [default], dtype=float)[inv]


def _broadcast(x: Any, n: int, dtype: Any) -> np.ndarray:
    """A scalar or sequence as an n-array (None -> NaN for floats)."""
    if x is None:
        return np.full(n, np.nan)
    arr = np.asarray(x, dtype=dtype).reshape(-1)
    return np.repeat(arr, n) if len(arr) == 1 and n != 1 else arr


def serve_batch(
    model: Sequence[str | ModelSpec] | str | ModelSpec,
    chip: Sequence[str | Chip] | str | Chip,
    n_chips: Any,
    precision: Any,
    input_len: Any,
    output_len: Any,
    concurrency: Any = None,
    techniques: Techniques = Techniques(),
    efficiency: Efficiency | None = None,
) -> dict[str, np.ndarray]:
    """Evaluate many configurations at once (equal-length sequences; scalars broadcast).

    ``concurrency`` entries that are None/NaN mean the max-throughput point. Returns one
    array per ServingResult field plus ``error`` ("" when the row is fine; its figures
    are NaN otherwise). No Python loop runs per configuration, only per distinct id.
    """
    lengths = [
        len(x) for x in (model, chip, n_chips, precision, input_len, output_len, concurrency)
        if x is not None and not isinstance(x, (str, Chip, ModelSpec)) and np.ndim(x) > 0
    ]
    if len(set(lengths)) > 1:
        raise InputError(f"serve_batch: arguments have different lengths {sorted(set(lengths))}")
    n = lengths[0] if lengths else 1
    eff = efficiency or fitted()

    mkeys, mspecs, minv, merr = _resolve(model, n, get_model, "model")
    ckeys, cspecs, cinv, cerr = _resolve(chip, n, get_chip, "chip")
    prec = _broadcast(precision, n, str)
    n_arr = _broadcast(n_chips, n, float)
    i_arr = _broadcast(input_len, n, float)
    o_arr = _broadcast(output_len, n, float)
    c_arr = _broadcast(concurrency, n, float)
    puniq, _, pinv = _factorize(prec)

    err = _Errors(n)
    err.take(merr)
    err.take(cerr)
    bad_prec = ~np.array([p in PRECISIONS for p in puniq] or [True])[pinv]
    err.add(bad_prec, lambda p: f"precision: {p!r}; allowed: {', '.join(PRECISIONS)}", prec)
    err.add(~(n_arr >= 1) | (n_arr != np.floor(n_arr)), lambda v: f"n_chips: {v}; allowed: a whole number >= 1", n_arr)
    err.add(~(i_arr >= 1), lambda v: f"input_len: {v}; allowed: >= 1", i_arr)
    err.add(~(o_arr >= 1), lambda v: f"output_len: {v}; allowed: >= 1", o_arr)
    err.add(np.isfinite(c_arr) & ~(c_arr > 0), lambda v: f"concurrency: {v}; allowed: > 0 or empty", c_arr)

    a = _columns(mspecs, minv, _MODEL_FIELDS)
    a["routed_b"], a["kv_elems"], a["mla"] = a["routed_params_b"], a["kv_elements_per_token"], a["is_mla"] > 0
    a.update(_columns(cspecs, cinv, _CHIP_FIELDS))
    per_gen = [eff.for_generation(c.generation) if c is not None else (eff.bw_eff, eff.mfu) for c in cspecs]
    a["bw_eff"] = np.array([g[0] for g in per_gen] or [1.0])[cinv]
    a["mfu"] = np.array([g[1] for g in per_gen] or [1.0])[cinv]

    # Precision-dependent peaks and byte widths, looked up per distinct (chip, precision).
    table = np.array([[np.nan if c is None or c.peak_tflops(p) is None else c.peak_tflops(p) for p in puniq]
                      for c in cspecs] or [[np.nan]], dtype=float)
    peak = table[cinv, pinv] if n else np.zeros(0)
    err.add(np.isnan(peak), lambda c, p: f"precision: chip {c} has no {p} tensor cores", ckeys, prec)
    wp, kp = techniques.weight_precision, techniques.kv_precision
    a["w_bytes"] = _lookup(puniq, pinv, {p: WEIGHT_BYTES[wp or p] for p in PRECISIONS}, 2.0)
    a["kv_bytes"] = _lookup(puniq, pinv, {p: KV_BYTES[kp or DEFAULT_KV[p]] for p in PRECISIONS}, 2.0)
    a["peak"] = np.nan_to_num(peak, nan=1.0)
    err.add(i_arr + o_arr > a["max_context"],
            lambda t, c: f"input_len + output_len = {t:.0f} exceeds the model's max context {c:.0f}",
            i_arr + o_arr, a["max_context"])

    ok = ~err.bad
    safe = lambda x, d: np.where(ok & np.isfinite(x) & (x > 0), x, d)  # noqa: E731
    n_ok = safe(n_arr, 1.0)
    args = (a, n_ok, safe(i_arr, 1.0), safe(o_arr, 1.0), np.where(ok, c_arr, np.nan), techniques, eff)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = instance_figures(np.minimum(n_ok, a["scaleup_domain"]), *args)
        if techniques.layout == "best":
            out = best_layout(out, n_ok, a["scaleup_domain"], args)
    err.add(out["max_concurrency"] < 1,
            lambda w, k, c, h: f"model does not fit: {w:.1f} GB of weights per chip plus one sequence's "
                               f"KV cache exceed {k:.0f} x {c} ({h:.0f} GB each); use more chips, a lower "
                               "precision or shorter sequences",
            np.round(out["weights_gb_per_chip"], 1), n_arr, ckeys, a["hbm_gb"])
    for v in out.values():
        if v.dtype.kind == "f":
            v[err.bad] = np.nan
    out["bound"] = np.where(err.bad, "", out["bound"])
    out["model"] = mkeys
    out["chip"] = ckeys
    out["n_chips"] = n_arr
    out["precision"] = prec
    out["input_len"] = i_arr
    out["output_len"] = o_arr
    out["error"] = err.messages()
    return out


class _Errors:
    """Per-row error messages ("" = fine); the first problem found for a row wins."""

    def __init__(self, n: int) -> None:
        self.bad = np.zeros(n, dtype=bool)
        self.msg = np.full(n, "", dtype=object)

    def take(self, msgs: np.ndarray) -> None:
        """Adopt ready messages where no earlier problem was found."""
        has = (msgs != "") & ~self.bad
        self.msg[has] = msgs[has]
        self.bad |= has

    def add(self, mask: np.ndarray, fmt: Any, *cols: np.ndarray) -> None:
        """Where mask holds and no earlier problem was found, fmt(*row values) is the message."""
        rows = np.flatnonzero(mask & ~self.bad)
        if len(rows):
            values = zip(*(np.asarray(c)[rows].tolist() for c in cols))
            self.msg[rows] = [fmt(*v) for v in values]  # only rows in error are formatted
            self.bad[rows] = True

    def messages(self) -> np.ndarray:
        return self.msg.astype(str)


def serve(
    model: str | ModelSpec,
    chip: str | Chip,
    n_chips: int,
    precision: str,
    input_len: int,
    output_len: int,
    concurrency: float | None = None,
    techniques: Techniques = Techniques(),
) -> ServingResult:
    """Serve one configuration; bad input raises InputError with the reason."""
    out = serve_batch([model], [chip], [n_chips], [precision], [input_len], [output_len],
                      [concurrency], techniques=techniques)
    if out["error"][0]:
        raise InputError(out["error"][0])
    row: dict[str, Any] = {}
    for name in RESULT_FIELDS:
        v = out[name][0]
        row[name] = v.item() if hasattr(v, "item") else v
    for name in ("n_chips", "input_len", "output_len", "tensor_parallel", "pipeline_parallel", "replicas"):
        row[name] = int(row[name])
    return ServingResult(**row)


@functools.lru_cache(maxsize=65536)
def serve_cached(
    model_id: str,
    chip_id: str,
    n_chips: int,
    precision: str,
    input_len: int,
    output_len: int,
    concurrency: float | None = None,
    techniques: Techniques = Techniques(),
) -> ServingResult:
    """``serve`` memoised on its (hashable) arguments: the economy's inner-loop path."""
    return serve(model_id, chip_id, n_chips, precision, input_len, output_len, concurrency, techniques)
