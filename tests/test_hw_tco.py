"""Serving economics and training runs, checked against hand arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from hardware_models.errors import InputError
from hardware_models.specs import get_chip
from hardware_models.tco import cost_per_mtok_usd, joules_per_token, owned_gpu_hour_cost_usd
from hardware_models.training import default_mfu, training_run


def test_cost_per_mtok_by_hand() -> None:
    # 8 chips at $2/h = $16/h; 1,000 tok/s = 3.6M tok/h -> $4.44 per million.
    assert cost_per_mtok_usd(1000.0, 8, 2.0) == pytest.approx(16 / 3.6)
    arr = cost_per_mtok_usd(np.array([1000.0, 2000.0]), 8, 2.0)
    assert arr[1] == pytest.approx(arr[0] / 2)
    assert cost_per_mtok_usd(0.0, 8, 2.0) == np.inf


def test_owned_gpu_hour_cost_by_hand() -> None:
    c = get_chip("h100-sxm")
    got = owned_gpu_hour_cost_usd(c, life_years=5, power_usd_per_kwh=0.1, pue=1.2, utilisation=1.0)
    capex = c.price_usd * 1.5 / (5 * 8760)
    power = c.tdp_w * 1.4 / 1000 * 1.2 * 0.1
    assert got == pytest.approx(capex + power)
    # Lower utilisation spreads capex over fewer sold hours.
    assert owned_gpu_hour_cost_usd(c, utilisation=0.5) > owned_gpu_hour_cost_usd(c, utilisation=0.9)
    # An H100 owned for 5 years lands near the ~$1.65/h breakeven of stylized fact F03.
    assert 0.8 < owned_gpu_hour_cost_usd("h100-sxm") < 2.5
    with pytest.raises(InputError, match="utilisation"):
        owned_gpu_hour_cost_usd(c, utilisation=0.0)


def test_joules_per_token_by_hand() -> None:
    # 8 x 700 W = 5,600 W at 1,000 tok/s -> 5.6 J per token.
    assert joules_per_token("h100-sxm", 8, 1000.0) == pytest.approx(5.6)


def test_training_run_by_hand() -> None:
    run = training_run(70, 15e12, "h100-sxm", 1024, mfu=0.4, gpu_hour_usd=2.0)
    flops = 6 * 70e9 * 15e12
    seconds = flops / (1024 * 989.5e12 * 0.4)
    assert run.flops == pytest.approx(flops)
    assert run.days == pytest.approx(seconds / 86400)
    assert run.cost_usd == pytest.approx(1024 * seconds / 3600 * 2.0)


def test_weak_interconnect_lowers_default_mfu() -> None:
    assert default_mfu("h100-sxm") == pytest.approx(0.40)
    assert default_mfu("h800-sxm") < default_mfu("h100-sxm")
    assert default_mfu("l40s") < default_mfu("h800-sxm")
    slow = training_run(70, 2e12, "h800-sxm", 512)
    fast = training_run(70, 2e12, "h100-sxm", 512)
    assert slow.days > fast.days


def test_training_run_rejects_bad_input() -> None:
    with pytest.raises(InputError):
        training_run(-1, 1e12, "h100-sxm", 8)
    with pytest.raises(InputError):
        training_run(7, 1e12, "h100-sxm", 8, mfu=1.5)


def test_training_run_near_published_llama2_70b() -> None:
    """Llama 2 paper (arXiv 2307.09288, Table 2): 70B on 2T tokens took 1,720,320 A100-hours."""
    run = training_run(68.98, 2e12, "a100-80gb-sxm", 2048)
    assert run.gpu_hours == pytest.approx(1_720_320, rel=0.3)
