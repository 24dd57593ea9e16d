"""The entry point's promise: bad flags and values are one `error:` line and exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

CASES = [
    (["run", "baseline", "--seed", "x"], "--seed"),
    (["sweep", "baseline", "--bogus", "1"], "--bogus"),
    (["nosuch"], "nosuch"),
    (["run", "baselin"], "baseline"),  # the closest valid name is suggested
]


@pytest.mark.parametrize(("args", "named"), CASES)
def test_bad_input_is_one_line_and_exit_2(args: list[str], named: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scenarios.cli", *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    assert named in lines[0]


def test_no_arguments_prints_help_and_exits_0() -> None:
    proc = subprocess.run([sys.executable, "-m", "scenarios.cli"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "run" in proc.stdout and "sweep" in proc.stdout
