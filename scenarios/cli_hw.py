"""`aibubble hw ...` and `aibubble demo`: the hardware model from the shell.

Other tools script against these command and field names, so they are a stable interface:
`hw serve --json` prints one object with FIELDS, and `hw batch` adds the same FIELDS (plus
`error`) to every row of a CSV. Bad input raises InputError, which `scenarios.cli:main`
prints as one line with exit code 2.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import polars as pl
import typer
from rich import box
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from hardware_models import serving, specs, tco
from hardware_models.errors import InputError

# The --json object and the columns `hw batch` adds, in this order.
FIELDS = (
    "model", "chip", "n_chips", "precision", "input_len", "output_len", "concurrency",
    "max_concurrency", "output_tokens_per_s", "output_tokens_per_s_per_chip", "ttft_ms",
    "tpot_ms", "gpu_hour_usd", "cost_per_mtok_usd", "joules_per_token", "bound",
)
# ServingResult fields copied into FIELDS; the rest of ServingResult (layout, memory and the
# per-operator step breakdown) follows them as EXTRA_FIELDS.
RESULT_FIELDS = ("concurrency", "max_concurrency", "output_tokens_per_s",
                 "output_tokens_per_s_per_chip", "ttft_ms", "tpot_ms", "bound")
EXTRA_FIELDS = tuple(f.name for f in dataclasses.fields(serving.ServingResult)
                     if f.name not in FIELDS)
INT_FIELDS = ("concurrency", "max_concurrency", "tensor_parallel", "pipeline_parallel",
              "replicas")  # whole numbers the model keeps as floats
REQUIRED = ("model", "chip", "n_chips", "precision", "input_len", "output_len")
INT_COLUMNS = ("n_chips", "input_len", "output_len")
# Units by field-name ending, for the `hw serve` table (the last match wins).
UNITS = {"_per_s": "tok/s", "_per_s_per_chip": "tok/s", "requests_per_s": "req/s",
         "_ms": "ms", "_usd": "USD", "joules_per_token": "J", "_gb_per_chip": "GB",
         "_mb_per_sequence": "MB"}


def _unit(field: str) -> str:
    return next((u for end, u in reversed(UNITS.items()) if field.endswith(end)), "")


# Usage errors are click's UsageError; newer typer vendors click (typer._click), so take
# the class from typer's public BadParameter rather than from the click package.
_UsageError: type[Exception] = typer.BadParameter.__mro__[1]


def _one_line(exc: Any) -> InputError:
    """A click usage error (bad or missing flag, unknown command) as one InputError line."""
    cmd = exc.ctx.command_path.removeprefix("aibubble ") if exc.ctx else "aibubble"
    return InputError(f"{cmd}: {exc.format_message()} (see --help)")


class _Command(TyperCommand):
    """Usage errors leave as InputError: one `error:` line and exit 2, not a usage box."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except _UsageError as exc:
            raise _one_line(exc) from None


class _Group(TyperGroup):
    """As _Command, for a mistyped subcommand of `aibubble hw`."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except _UsageError as exc:
            raise _one_line(exc) from None


hw = typer.Typer(help="Query the hardware model: serving throughput, latency and cost.",
                 no_args_is_help=True, cls=_Group)


def register(app: typer.Typer) -> None:
    """Add `hw` (serve, batch, chips, models) and `demo` to the `aibubble` app."""
    app.add_typer(hw, name="hw")
    app.command("demo", cls=_Command)(demo)


def _closest(value: str, allowed: list[str] | tuple[str, ...]) -> str:
    """'closest: a, b' for a bad value, or the whole list when nothing is close."""
    near = difflib.get_close_matches(value, allowed, n=3, cutoff=0.4)
    return f"closest: {', '.join(near)}" if near else f"allowed: {', '.join(allowed)}"


def check_precision(precision: str, flag: str = "--precision") -> str:
    """The precision, lower-cased, or InputError naming the allowed ones."""
    p = precision.strip().lower()
    if p not in serving.PRECISIONS:
        raise InputError(f"{flag}: unknown precision {precision!r}; "
                         f"{_closest(p, serving.PRECISIONS)}")
    return p


def _spec(getter: Any, flag: str, value: str) -> Any:
    """A catalog entry by id; an unknown id becomes InputError naming the flag."""
    try:
        return getter(value)
    except InputError as exc:
        raise InputError(f"{flag}: {exc}") from None


def _positive(flag: str, value: int | None) -> None:
    if value is not None and value < 1:
        raise InputError(f"{flag}: must be a positive integer, got {value}")


def serve_record(model: str, chip: str, n_chips: int, precision: str, input_len: int,
                 output_len: int, concurrency: int | None = None,
                 gpu_hour_usd: float | None = None) -> dict[str, Any]:
    """One configuration as the --json object: serving result, cost and energy."""
    for flag, v in (("--n-chips", n_chips), ("--input-len", input_len),
                    ("--output-len", output_len), ("--concurrency", concurrency)):
        _positive(flag, v)
    if gpu_hour_usd is not None and not gpu_hour_usd > 0:
        raise InputError(f"--gpu-hour-usd: must be positive, got {gpu_hour_usd}")
    precision = check_precision(precision)
    m = _spec(specs.get_model, "--model", model)
    c = _spec(specs.get_chip, "--chip", chip)
    try:
        res = serving.serve(m, c, n_chips, precision, input_len, output_len,
                            concurrency=concurrency)
    except InputError as exc:
        raise InputError(_flag_message(str(exc), m, c, n_chips, input_len, output_len)) from None
    hour = tco.owned_gpu_hour_cost_usd(c) if gpu_hour_usd is None else gpu_hour_usd
    rec: dict[str, Any] = {"model": m.id, "chip": c.id, "n_chips": n_chips,
                           "precision": precision, "input_len": input_len,
                           "output_len": output_len}
    rec.update({k: getattr(res, k) for k in RESULT_FIELDS + EXTRA_FIELDS})
    rec["gpu_hour_usd"] = float(hour)
    rec["cost_per_mtok_usd"] = float(tco.cost_per_mtok_usd(res.output_tokens_per_s,
                                                             n_chips, hour))
    rec["joules_per_token"] = float(tco.joules_per_token(c, n_chips, res.output_tokens_per_s))
    for k in INT_FIELDS:
        rec[k] = int(round(rec[k]))
    return {k: rec[k] for k in FIELDS + EXTRA_FIELDS}


def _flag_message(msg: str, m: Any, c: Any, n_chips: int, input_len: int,
                  output_len: int) -> str:
    """The model's message with its field named as the flag, plus what the chip can run."""
    field, sep, rest = msg.partition(": ")
    if not sep or " " in field:
        return msg
    msg = f"--{field.replace('_', '-')}: {rest}"
    if field == "precision":
        res = serving.serve_batch(m, c, n_chips, serving.PRECISIONS, input_len, output_len)
        ok = [p for p, e in zip(serving.PRECISIONS, res["error"]) if not e.startswith(field)]
        msg += f"; {c.id} runs: {', '.join(ok)}"
    return msg


@hw.command("serve", cls=_Command)
def serve_cmd(
    model: Annotated[str, typer.Option(help="Model id (see `aibubble hw models`).")],
    chip: Annotated[str, typer.Option(help="Chip id (see `aibubble hw chips`).")],
    n_chips: Annotated[int, typer.Option(
        help="Chips in the deployment: tensor-parallel within a scale-up domain, then "
             "pipeline stages or replicas.")],
    precision: Annotated[str, typer.Option(
        help=f"Serving precision of weights and math: {', '.join(serving.PRECISIONS)}.")],
    input_len: Annotated[int, typer.Option(help="Prompt tokens per request.")],
    output_len: Annotated[int, typer.Option(help="Generated tokens per request.")],
    concurrency: Annotated[int | None, typer.Option(
        help="Requests in flight; default: the max-throughput point.")] = None,
    gpu_hour_usd: Annotated[float | None, typer.Option(
        help="Price of one chip-hour; default: the cost of owning the chip.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Throughput, latency, cost and energy of one serving configuration."""
    rec = serve_record(model, chip, n_chips, precision, input_len, output_len, concurrency,
                       gpu_hour_usd)
    if as_json:  # strict JSON: a non-finite figure (none expected) becomes null
        typer.echo(json.dumps({k: v if not isinstance(v, float) or math.isfinite(v) else None
                               for k, v in rec.items()}, allow_nan=False))
        return
    table = Table(title=f"{rec['model']} on {n_chips} x {rec['chip']} ({rec['precision']})")
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for k, v in rec.items():
        table.add_row(k, f"{v:,.4g}" if isinstance(v, float) else str(v), _unit(k))
    Console().print(table)


# ---- batch ---------------------------------------------------------------------------


def read_csv(path: Path) -> pl.DataFrame:
    """Every column as text, so pass-through columns come out as they went in."""
    try:
        return pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read as CSV ({reason})") from None


def _as_int(frame: pl.DataFrame, col: str, required: bool) -> tuple[np.ndarray, np.ndarray]:
    """(values, reason) for a column of positive integers; reason is '' where fine."""
    text = frame[col].str.strip_chars()
    num = text.cast(pl.Float64, strict=False).to_numpy()
    empty = (text.is_null() | (text == "")).to_numpy()
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(num) & (num >= 1) & (np.floor(num) == num)
    reason = np.full(len(num), "", dtype=object)
    raw = text.to_list()
    for i in np.flatnonzero(~ok & ~empty):  # only the bad rows, usually none
        reason[i] = f"{col}: {raw[i]!r} is not a positive whole number"
    if required:
        reason[empty] = f"{col}: empty"
    return np.where(ok, num, 0).astype(np.int64), reason


def _as_float(frame: pl.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, reason) for an optional column of positive numbers (NaN where empty)."""
    text = frame[col].str.strip_chars()
    num = text.cast(pl.Float64, strict=False).to_numpy()
    empty = (text.is_null() | (text == "")).to_numpy()
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(num) & (num > 0)
    reason = np.full(len(num), "", dtype=object)
    raw = text.to_list()
    for i in np.flatnonzero(~ok & ~empty):
        reason[i] = f"{col}: {raw[i]!r} is not a positive number"
    return np.where(ok, num, np.nan), reason


def _first_error(*reasons: np.ndarray) -> np.ndarray:
    """Per row, the first non-empty reason."""
    out = np.full(len(reasons[0]), "", dtype=object)
    for r in reversed(reasons):
        out = np.where(r != "", r, out)
    return out


def batch_frame(frame: pl.DataFrame, gpu_hour_usd: float | None = None,
                source: str = "input") -> pl.DataFrame:
    """The input rows with FIELDS and `error` added, all rows in one vectorised pass.

    A row that cannot be computed keeps its input columns, gets empty result fields and
    the reason in `error`; the others are computed. `concurrency` becomes the one used
    (the input's is kept as `concurrency_requested`). A `gpu_hour_usd` column, where
    given, prices that row; otherwise --gpu-hour-usd, otherwise the cost of owning it.
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        found = ", ".join(repr(c[:24]) for c in frame.columns[:6]) + (
            ", ..." if frame.width > 6 else "")
        raise InputError(f"{source}: missing required column(s) {', '.join(missing)} "
                         f"(found: {found}); a comma-separated file with a header is "
                         f"needed, optional columns: concurrency, gpu_hour_usd")
    n = frame.height
    ints = {c: _as_int(frame, c, required=True) for c in INT_COLUMNS}
    conc, conc_bad = (_as_int(frame, "concurrency", required=False)
                      if "concurrency" in frame.columns
                      else (np.zeros(n, np.int64), np.full(n, "", dtype=object)))
    hour, hour_bad = (_as_float(frame, "gpu_hour_usd") if "gpu_hour_usd" in frame.columns
                      else (np.full(n, np.nan), np.full(n, "", dtype=object)))
    if gpu_hour_usd is not None:
        hour = np.where(np.isnan(hour), gpu_hour_usd, hour)
    model = frame["model"].str.strip_chars().fill_null("").to_numpy().astype(str)
    chip = frame["chip"].str.strip_chars().fill_null("").to_numpy().astype(str)
    precision = (frame["precision"].str.strip_chars().str.to_lowercase().fill_null("")
                 .to_numpy().astype(str))
    error = _first_error(*(r for _, r in ints.values()), conc_bad, hour_bad)

    # Rows that parsed go to the model in one call; it reports the rest (ids, fit, ...).
    good = np.flatnonzero(error == "")
    with np.errstate(all="ignore"):  # rows that fail are NaN by design, not a warning
        res = serving.serve_batch(
            model[good], chip[good], ints["n_chips"][0][good], precision[good],
            ints["input_len"][0][good], ints["output_len"][0][good],
            concurrency=np.where(conc[good] > 0, conc[good], np.nan),  # NaN: max throughput
        )
    error[good] = np.asarray(res["error"], dtype=object)
    ok = error == ""

    new: dict[str, pl.Series] = {}
    for k in RESULT_FIELDS + EXTRA_FIELDS:
        v = np.asarray(res[k])
        if v.dtype.kind in "fi":
            full = np.full(n, np.nan)
            full[good] = v
            new[k] = _nullable(full)
            if k in INT_FIELDS:
                new[k] = new[k].round().cast(pl.Int64)
        else:
            full = np.full(n, None, dtype=object)
            full[ok] = v[ok[good]]
            new[k] = pl.Series(k, full.tolist(), dtype=pl.String)
    tps = new["output_tokens_per_s"].fill_null(np.nan).to_numpy()
    n_ch = ints["n_chips"][0]
    cost, joules = np.full(n, np.nan), np.full(n, np.nan)
    for cid in np.unique(chip[ok]):  # a few distinct chips: vector maths per chip
        rows = np.flatnonzero(ok & (chip == cid))
        c = specs.get_chip(str(cid))
        hour[rows] = np.where(np.isnan(hour[rows]), tco.owned_gpu_hour_cost_usd(c),
                              hour[rows])
        cost[rows] = tco.cost_per_mtok_usd(tps[rows], n_ch[rows], hour[rows])
        joules[rows] = tco.joules_per_token(c, n_ch[rows], tps[rows])
    hour[~ok] = np.nan
    new.update(gpu_hour_usd=_nullable(hour), cost_per_mtok_usd=_nullable(cost),
               joules_per_token=_nullable(joules),
               error=pl.Series("error", error.tolist(), dtype=pl.String))

    passthrough = frame
    if "concurrency" in frame.columns:
        passthrough = passthrough.rename({"concurrency": "concurrency_requested"})
    order = [k for k in FIELDS + EXTRA_FIELDS if k not in REQUIRED] + ["error"]
    passthrough = passthrough.drop([c for c in order if c in passthrough.columns])
    return pl.concat([passthrough, pl.DataFrame([new[k].alias(k) for k in order])],
                     how="horizontal")


def _nullable(a: np.ndarray) -> pl.Series:
    """A float column with NaN as null, so a CSV shows an empty cell."""
    return pl.Series(a, dtype=pl.Float64).fill_nan(None)


def write_csv_atomic(frame: pl.DataFrame, out: Path) -> None:
    """Write to a temp file beside `out`, then rename: readers never see half a file."""
    if out.is_dir():
        raise InputError(f"--out: {out} is a folder; give a file name")
    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        os.close(fd)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the output is an ordinary file
        frame.write_csv(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        raise InputError(f"--out: cannot write {out} ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


@hw.command("batch", cls=_Command)
def batch_cmd(
    in_csv: Annotated[Path, typer.Argument(help="CSV with columns model, chip, n_chips, "
                                           "precision, input_len, output_len [, concurrency]")],
    out: Annotated[Path, typer.Option(help="Output CSV: the input plus result columns.")],
    gpu_hour_usd: Annotated[float | None, typer.Option(
        help="Price of one chip-hour for rows without a gpu_hour_usd column.")] = None,
) -> None:
    """Evaluate every row of a CSV in one vectorised pass; bad rows get an `error`."""
    if gpu_hour_usd is not None and not gpu_hour_usd > 0:
        raise InputError(f"--gpu-hour-usd: must be positive, got {gpu_hour_usd}")
    result = batch_frame(read_csv(in_csv), gpu_hour_usd, source=str(in_csv))
    write_csv_atomic(result, out)
    n_bad = int((result["error"] != "").sum())
    typer.echo(f"wrote {out}: {result.height} rows, {n_bad} with an error")


# ---- catalogs ------------------------------------------------------------------------


def _table(title: str, rows: Mapping[str, Mapping[str, Any]]) -> Table:
    """Light borders and short headers, so a catalog fits an 80-column terminal."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1),
                  collapse_padding=True)
    first = next(iter(rows.values()), {})
    for col in first:  # ids never wrap, so they stay greppable in a narrow terminal
        table.add_column(col, justify="left" if col in ("id", "vendor", "export") else "right",
                         no_wrap=col == "id")
    for row in rows.values():
        table.add_row(*(_cell(v) for v in row.values()))
    return table


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):  # no exponents: 15,000 not 1.5e+04
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.1f}".removesuffix(".0") if abs(v) >= 100 else f"{v:.3g}"
    return str(v)


def chip_rows() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Two summary tables of the chip catalog: compute and memory; fabric, power, money."""
    compute, rest = {}, {}
    for cid, c in specs.chips().items():
        compute[cid] = {"id": cid, "vendor": c.vendor, "year": c.launch_year,
                        "bf16": c.bf16_tflops, "fp8": c.fp8_tflops, "int8": c.int8_tops,
                        "fp4": c.fp4_tflops, "HBM GB": c.hbm_gb, "TB/s": c.hbm_tb_s}
        rest[cid] = {"id": cid, "scale-up GB/s": c.scaleup_gb_s,
                     "domain": c.scaleup_domain, "TDP W": c.tdp_w,
                     "price USD": c.price_usd, "export": c.export_class,
                     "H100e": c.h100_equivalents}
    return compute, rest


def model_rows() -> dict[str, dict[str, Any]]:
    """One summary row per catalog model (what `hw models` prints)."""
    return {mid: {"id": mid, "total": m.total_params_b, "active": m.active_params_b,
                  "layers": m.layers, "hidden": m.hidden, "heads": m.heads,
                  "KV": m.kv_heads, "MoE": f"{m.top_k}/{m.experts}" if m.is_moe
                  else "-", "attn": m.attention, "ctx": m.max_context}
            for mid, m in specs.models().items()}


@hw.command("chips", cls=_Command)
def chips_cmd() -> None:
    """The chip catalog: peak compute, memory, interconnect, power, price, export class."""
    compute, rest = chip_rows()
    console = Console()
    console.print(_table("chips: dense peak TFLOP/s (int8: TOP/s) and HBM", compute))
    console.print(_table("chips: scale-up fabric, power, price, export class, "
                         "H100-equivalents", rest))
    console.print("sources: hardware_models/catalog/chips.toml", highlight=False)


@hw.command("models", cls=_Command)
def models_cmd() -> None:
    """The model catalog: parameters, layers, MoE and attention kind."""
    console = Console()
    console.print(_table("models: parameters (billions), shape, KV heads, MoE top-k/experts, "
                         "attention, context",
                         model_rows()))
    console.print("sources: hardware_models/catalog/models.toml", highlight=False)


def demo(
    figure: Annotated[Path, typer.Option(help="Where to write the PNG.")] = Path(
        "runs/demo/hw_demo.png"),
) -> None:
    """Hardware-model demo: cost per million output tokens across chips, and a figure."""
    from scenarios.hw_demo import run_demo  # matplotlib only when the demo runs

    try:
        run_demo(Console(), figure)
    except OSError as exc:
        raise InputError(f"--figure: cannot write {figure} ({exc.strerror or exc})") from None
