"""The house rules that hold the project together: import floors and package identity."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_floors_run_one_way() -> None:
    """viz -> scenarios -> world -> agents -> hardware_models, never back up."""
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "KEPT" in proc.stdout


def test_our_packages_not_pypi_namesakes() -> None:
    """PyPI has packages named agents, world and scenarios: ours must be the ones imported."""
    import agents
    import hardware_models
    import scenarios
    import viz
    import world

    for mod in (agents, hardware_models, scenarios, viz, world):
        assert Path(mod.__file__).resolve().is_relative_to(REPO), mod.__file__


def test_no_global_random_in_model_code() -> None:
    """Only the model's own generators: no np.random.<fn> / random.<fn> module-level calls."""
    bad = []
    for pkg in ("agents", "world", "hardware_models", "scenarios"):
        for path in (REPO / pkg).rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if "np.random." in code and "default_rng" not in code and "Generator" not in code:
                    bad.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
                if code.lstrip().startswith("import random"):
                    bad.append(f"{path.relative_to(REPO)}:{n}: {line.strip()}")
    assert not bad, "global random use:\n" + "\n".join(bad)
