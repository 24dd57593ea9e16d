"""benchmarks/techniques.py keeps running as the serving model changes, and its exact checks
(byte counts) stay exact: it is a check of the model, so it must not rot silently."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "techniques.py"


@pytest.fixture(scope="module")
def checks() -> list:
    spec = importlib.util.spec_from_file_location("techniques_bench", PATH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return [c for fn in mod.CHECKS for c in fn()]


def test_every_technique_has_a_finite_gain_and_a_verdict(checks: list) -> None:
    techniques = {c.technique for c in checks}
    assert len(techniques) == 8, techniques
    for c in checks:
        assert math.isfinite(c.gain) and c.gain > 0, c
        assert c.verdict in ("in range", "below", "above") and c.quote and c.note


def test_byte_counting_checks_are_exact(checks: list) -> None:
    by_metric = {(c.technique, c.metric): c.gain for c in checks}
    assert by_metric[("INT8 quantisation", "weight memory (x less)")] == pytest.approx(2.0)
    assert by_metric[("KV-cache quantisation", "KV-cache memory (share saved)")] == \
        pytest.approx(0.5)
