"""`aibubble hw` and `aibubble demo`: the field names other tools script against, exit codes
for bad input (2, one line, no traceback), and `hw batch` row-level errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from hardware_models import specs
from scenarios.cli import app, main
from scenarios.cli_hw import FIELDS

SERVE = ["hw", "serve", "--model", "llama-3.1-8b", "--chip", "h100-sxm", "--n-chips", "1",
         "--precision", "fp8", "--input-len", "1000", "--output-len", "1000"]
runner = CliRunner()
BENCH_EXCERPT = "\n".join([  # rows of ../shared/data/hw_benchmarks.csv, verbatim
    'id,model,chip,n_chips,precision,input_len,output_len,concurrency,metric,value,framework,source,source_detail,notes',  # noqa: E501
    'B001,llama-3.3-70b,b200,1,fp4,128,128,,output_tokens_per_s_total,11147,TensorRT-LLM (v1.0-era),NVIDIA/TensorRT-LLM docs/source/performance/perf-overview.md @00f37686aa854010d68bcbd0f4ab000221541ca6,"Llama-3.3-70B table, B200 TP1 (FP4), ISL/OSL 128/128","trtllm-bench offline max-throughput (infinite request rate, all requests queued), PyTorch backend; synthetic fixed ISL/OSL; published metric \'Total Output Throughput (tokens/sec)\' for the whole TP group; NVIDIA ModelOpt-quantized checkpoints"',  # noqa: E501
    'B070,llama-2-70b,h100-sxm,2,fp8,128,128,1024,output_tokens_per_s_per_chip,3214,TensorRT-LLM v0.9.0,NVIDIA/TensorRT-LLM docs/source/performance.md (v0.9.0 data,"Peak Throughput table \'H100-SXM GPUs (FP8)\', Llama-2-70B BS1024 TP2 128/128",gptSessionBenchmark static batch (no in-flight batching) at the listed batch size = concurrency; metric published as \'Throughput (out tok/s/GPU)\' i.e. per GPU; \'LLaMA 70B\'/\'LLaMA 7B\' are Llama-2 (per methodology section); TensorRT-LLM v0.9.0',  # noqa: E501
    'B096,deepseek-v3,b200,8,fp4,1024,2048,3072,output_tokens_per_s_total,36384.0838,TensorRT-LLM (commit b626186),NVIDIA/TensorRT-LLM docs/source/blogs/Best_perf_practice_on_DeepSeek-R1_in_TensorRT-LLM.md @01c4ece911eb569e72cf4177f83238a0520641c2,B200 max-throughput for R1 with FP16 KV cache: Total Output Throughput,"TP8 EP8 attention-DP, 49152 synthetic requests; per GPU 4548.0105 tps/gpu"',  # noqa: E501
    'B162,deepseek-v3,h800-sxm,144,fp8,4096,2048,13200,output_tokens_per_s_per_chip,1850,RTP-LLM,alibaba/rtp-llm docs/RTP-LLM-DeepSeek-Replay-Tech-Report.md,Decode section: 1850 TPS per card at 13200 concurrency,decode instance of 144 H800 (EP144) at the 20 tok/s/user SLA limit; 42 tok/s/user at low concurrency',  # noqa: E501
]) + "\n"


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The console entry point in-process: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["aibubble", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def serve_json(*extra: str) -> dict:
    res = runner.invoke(app, [*SERVE, *extra, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_serve_json_has_every_field_with_its_type() -> None:
    rec = serve_json("--gpu-hour-usd", "2")
    assert set(FIELDS) <= set(rec)
    for k in ("n_chips", "input_len", "output_len", "concurrency", "max_concurrency"):
        assert type(rec[k]) is int, k
    for k in ("output_tokens_per_s", "output_tokens_per_s_per_chip", "ttft_ms", "tpot_ms",
              "cost_per_mtok_usd", "joules_per_token"):
        assert isinstance(rec[k], float) and rec[k] > 0, k
    assert rec["bound"] in ("memory", "compute")
    assert (rec["model"], rec["chip"], rec["precision"]) == ("llama-3.1-8b", "h100-sxm", "fp8")
    assert 1 <= rec["concurrency"] <= rec["max_concurrency"]
    assert rec["output_tokens_per_s_per_chip"] == pytest.approx(rec["output_tokens_per_s"])
    # $2 per chip-hour over the tokens one hour serves, per million.
    assert rec["cost_per_mtok_usd"] == pytest.approx(2.0 / (rec["output_tokens_per_s"] * 3600)
                                                     * 1e6, rel=1e-6)


def test_serve_fixed_concurrency_is_the_one_used() -> None:
    rec = serve_json("--concurrency", "8")
    assert rec["concurrency"] == 8
    assert rec["output_tokens_per_s"] < serve_json()["output_tokens_per_s"]


def test_serve_table_without_json() -> None:
    res = runner.invoke(app, SERVE, env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "cost_per_mtok_usd" in res.stdout and "llama-3.1-8b" in res.stdout


def test_unknown_chip_exits_2_with_suggestion_no_traceback() -> None:
    """Through the real console script: one line on stderr naming the id and the closest."""
    args = [a if a != "h100-sxm" else "h100-sxn" for a in SERVE]
    proc = subprocess.run([str(Path(sys.executable).with_name("aibubble")), *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "--chip" in lines[0] and "h100-sxn" in lines[0] and "h100-sxm" in lines[0]


@pytest.mark.parametrize(("flag", "bad", "hint"), [
    ("--precision", "fp9", "fp8"),
    ("--model", "llama-3.1-7b", "llama-3.1-8b"),
    ("--n-chips", "0", "positive"),
    ("--output-len", "-5", "positive"),
])
def test_bad_flag_value_exits_2_in_one_line(flag: str, bad: str, hint: str,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    args = list(SERVE)
    args[args.index(flag) + 1] = bad
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert flag in err and bad in err and hint in err


@pytest.mark.parametrize(("args", "hint"), [
    (["hw", "serve", "--model", "llama-3.1-8b", "--n-chips", "abc"], "--n-chips"),
    (["hw", "serve", "--model", "llama-3.1-8b"], "Missing option '--chip'"),
    ([*SERVE, "--n-chipz", "2"], "--n-chips"),
    (["hw", "serv"], "serve"),
])
def test_usage_errors_are_one_line_exit_2(args: list[str], hint: str,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Click's usage errors (bad type, missing or mistyped flag, mistyped command)."""
    code, out, err = run_main(args, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:"), err
    assert hint in err


def test_precision_the_chip_lacks_exits_2(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    args = [a if a != "h100-sxm" else "a100-80gb-sxm" for a in SERVE]
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 2 and "fp8" in err and "Traceback" not in err


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_batch_bad_rows_get_an_error_others_are_computed(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", "\n".join([
        "model,chip,n_chips,precision,input_len,output_len,concurrency,note",
        "llama-3.1-8b,h100-sxm,1,fp8,1000,1000,,max",          # fine, max throughput
        "llama-3.1-70b,h200-sxm,2,fp8,2048,128,64,fixed",     # fine, fixed concurrency
        "llama-3.1-8b,h100-sxn,1,fp8,1000,1000,,typo chip",   # unknown id
        "llama-3.1-8b,h100-sxm,1,fp8,0,1000,,zero input",     # non-positive length
        "llama-3.1-8b,a100-80gb-sxm,1,fp4,128,128,,no fp4",   # precision the chip lacks
        "llama-3.1-405b,l40s,1,bf16,128,128,,too big",        # does not fit
        "llama-3.1-8b,h100-sxm,two,fp8,128,128,,bad int",     # not an integer
    ]) + "\n")
    out = tmp_path / "new" / "out.csv"  # a missing folder is made
    res = runner.invoke(app, ["hw", "batch", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    df = pl.read_csv(out, infer_schema_length=0)
    assert df.height == 7 and set(FIELDS) | {"error", "note"} <= set(df.columns)
    err = df["error"].fill_null("").to_list()
    assert err[:2] == ["", ""]
    assert all(e for e in err[2:]), err
    assert "h100-sxn" in err[2] and "input_len" in err[3] and "fp4" in err[4]
    assert "n_chips" in err[6]
    tps = df["output_tokens_per_s"].cast(pl.Float64).to_list()
    assert tps[0] > 0 and tps[1] > 0 and all(v is None for v in tps[2:])
    assert df["concurrency"].cast(pl.Int64).to_list()[1] == 64
    assert df["note"].to_list()[0] == "max"
    assert [p.name for p in out.parent.iterdir()] == ["out.csv"], "temp file left behind"


def test_batch_passes_benchmark_columns_through(tmp_path: Path) -> None:
    """The shared benchmark file goes in as it is: its quoted, comma-laden columns come out
    unchanged, the requested concurrency is kept beside the one used."""
    src = _write(tmp_path / "hw_benchmarks.csv", BENCH_EXCERPT)
    out = tmp_path / "bench_out.csv"
    res = runner.invoke(app, ["hw", "batch", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    before = pl.read_csv(src, infer_schema=False)
    got = pl.read_csv(out, infer_schema=False)
    assert got.height == before.height == 4
    for col in before.columns:
        name = "concurrency_requested" if col == "concurrency" else col
        assert got[name].to_list() == before[col].to_list(), col
    assert got["error"].fill_null("").to_list() == [""] * 4
    used = got["concurrency"].cast(pl.Int64).to_list()
    asked = before["concurrency"].cast(pl.Int64).to_list()
    assert used[1] == 1024 and all(u <= a for u, a in zip(used[1:], asked[1:]))
    assert min(got["output_tokens_per_s"].cast(pl.Float64).to_list()) > 0


@pytest.mark.parametrize(("text", "needle"), [
    ("model,chip,n_chips,precision,input_len\nllama-3.1-8b,h100-sxm,1,fp8,10\n", "output_len"),
    (None, "cannot read"),
])
def test_batch_missing_column_or_file_exits_2(text: str | None, needle: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    if text is not None:
        src.write_text(text)
    code, _, err = run_main(["hw", "batch", str(src), "--out", str(tmp_path / "o.csv")],
                            monkeypatch, capsys)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o.csv").exists()


def test_batch_out_is_a_folder_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "in.csv", "model,chip,n_chips,precision,input_len,output_len\n")
    code, _, err = run_main(["hw", "batch", str(src), "--out", str(tmp_path)], monkeypatch,
                            capsys)
    assert code == 2 and "--out" in err and "folder" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize(("cmd", "ids"), [("chips", specs.chips), ("models", specs.models)])
def test_catalog_tables_list_every_id(cmd: str, ids) -> None:
    res = runner.invoke(app, ["hw", cmd], env={"COLUMNS": "100"})
    assert res.exit_code == 0, res.output
    for cid in ids():
        assert cid in res.stdout, cid


def test_demo_prints_the_table_and_writes_the_figure(tmp_path: Path) -> None:
    fig = tmp_path / "demo" / "hw_demo.png"
    res = runner.invoke(app, ["demo", "--figure", str(fig)], env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    assert "USD/Mtok" in res.stdout and "h100-sxm" in res.stdout and str(fig) in res.stdout
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in fig.parent.iterdir()] == ["hw_demo.png"]  # no temp file left
