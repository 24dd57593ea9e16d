"""Catalog checks: the contract's ids, every number sourced, clear errors for bad ids."""

from __future__ import annotations

import tomllib

import pytest

from hardware_models.errors import InputError
from hardware_models.specs import CATALOG_DIR, EXPORT_CLASSES, chips, get_chip, get_model, models

CHIP_IDS = {
    "a100-80gb-sxm", "h100-sxm", "h100-pcie", "h800-sxm", "h20", "h200-sxm", "b200", "gb200",
    "gb300", "mi300x", "mi325x", "l40s", "rtx-pro-6000", "ascend-910b", "ascend-910c", "mlu370-x8",
}
MODEL_IDS = {
    "llama-2-7b", "llama-2-70b", "llama-3.1-8b", "llama-3.1-70b", "llama-3.3-70b",
    "llama-3.1-405b", "mixtral-8x7b", "deepseek-v3", "qwen2.5-72b", "qwen3-235b-a22b",
}


def test_catalogs_hold_the_issue_ids() -> None:
    assert CHIP_IDS <= set(chips())
    assert MODEL_IDS <= set(models())


@pytest.mark.parametrize("filename,table", [("chips.toml", "chip"), ("models.toml", "model")])
def test_every_number_has_a_source_or_assumption(filename: str, table: str) -> None:
    """Read the raw TOML so a number the loader ignored would still be caught."""
    data = tomllib.loads((CATALOG_DIR / filename).read_text())
    for entry in data[table]:
        src = entry["src"]
        for key, value in entry.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                note = src.get(key, "")
                assert note.startswith(("source:", "assumption:")), (entry["id"], key)
                assert len(note) > len("assumption: ") + 10, (entry["id"], key, note)


def test_chip_fields_are_physical() -> None:
    for c in chips().values():
        assert c.export_class in EXPORT_CLASSES
        assert 2015 <= c.launch_year <= 2026
        assert c.hbm_gb > 0 and c.hbm_tb_s > 0 and c.tdp_w > 0 and c.price_usd > 0
        # Lower precisions are never slower than bf16 where the chip has them.
        for low in (c.fp8_tflops, c.int8_tops, c.fp4_tflops):
            assert low is None or low >= c.bf16_tflops


def test_h100_equivalents_conversion() -> None:
    assert get_chip("h100-sxm").h100_equivalents == pytest.approx(1.0)
    assert get_chip("h800-sxm").h100_equivalents == pytest.approx(1.0)
    assert get_chip("b200").h100_equivalents > 2 > get_chip("h200-sxm").h100_equivalents > 1
    assert get_chip("h20").h100_equivalents < 0.5


def test_moe_parameter_split_matches_published_active_counts() -> None:
    """Shared + top_k experts, derived from the architecture, give the quoted active size."""
    for mid in ("mixtral-8x7b", "deepseek-v3", "qwen3-235b-a22b"):
        m = get_model(mid)
        active = m.total_params_b - m.routed_params_b + m.top_k * m.expert_params_b
        assert active == pytest.approx(m.active_params_b, rel=0.03), mid


def test_kv_cache_sizes() -> None:
    # Llama-3.1-70B: 2 x 80 layers x 8 heads x 128 = 163,840 elements per token.
    assert get_model("llama-3.1-70b").kv_elements_per_token == 163_840
    # DeepSeek-V3 MLA: 61 x (512 + 64) = 35,136, far below its 128-head MHA equivalent.
    assert get_model("deepseek-v3").kv_elements_per_token == 35_136


def test_unknown_ids_name_the_closest() -> None:
    with pytest.raises(InputError, match="h100-sxm"):
        get_chip("h100")
    with pytest.raises(InputError, match="llama-3.1-70b"):
        get_model("llama-3.1-70")
