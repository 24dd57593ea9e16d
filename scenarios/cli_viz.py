"""`aibubble viz`: serve the Solara step-through app on this machine only.

scenarios sits below viz in the import floors, so this module never imports viz: it finds
viz/app.py with importlib.util.find_spec and runs `python -m solara run` on it in a child
process, handing the scenario and seed over in environment variables.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import typer

from hardware_models.errors import InputError

HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# Read by viz/app.py; the names are the contract between the two modules.
ENV_SCENARIO = "AIBUBBLE_VIZ_SCENARIO"
ENV_SEED = "AIBUBBLE_VIZ_SEED"
# Nothing may be fetched at run time: solara otherwise sends usage telemetry (and asks PyPI
# for a newer version on start: --no-check-version below). Its rules-of-hooks linter only
# warns about mesa's own SolaraViz code, which this app does not use.
SERVER_ENV = {"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "SOLARA_CHECK_HOOKS": "off"}


def app_path() -> Path:
    """Path of viz/app.py, found without importing viz (scenarios must not import it)."""
    spec = importlib.util.find_spec("viz")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("the viz package is not installed; reinstall with `pip install -e .[viz]`")
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


def check_port(port: int) -> None:
    """Reject a port outside 1..65535 or already taken on 127.0.0.1, before starting."""
    if not 1 <= port <= 65535:
        raise InputError(f"--port {port}: must be between 1 and 65535")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise InputError(
                f"--port {port}: {HOST}:{port} is not free ({exc.strerror}); pick another port"
            ) from None


def server_command(port: int) -> list[str]:
    """The solara command line: local host only, production mode, no browser, no PyPI check."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(app_path()),
        "--host",
        HOST,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]


def viz(
    scenario: str = typer.Argument("baseline", help="Library scenario name or path to a .toml file."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the first run (the page can change it)."),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="Port on 127.0.0.1."),
) -> None:
    """Step through a scenario in the browser (Solara app on 127.0.0.1)."""
    # Imported here: it loads the economy, which other commands and --help do not need.
    from scenarios.config import load_scenario

    loaded = load_scenario(scenario)  # an unknown name or a bad file stops here, exit 2
    if seed < 0:
        raise InputError(f"--seed {seed}: must be a non-negative integer")
    check_port(port)
    source = str(Path(scenario).resolve()) if Path(scenario).is_file() else scenario
    env = {**os.environ, **SERVER_ENV, ENV_SCENARIO: source, ENV_SEED: str(seed)}
    typer.echo(f"aibubble viz: {loaded.name} (seed {seed}) at http://{HOST}:{port}  (Ctrl+C stops it)")
    proc = subprocess.Popen(server_command(port), env=env)
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # the user stopped it: not an error
        proc.terminate()
        proc.wait()
        code = 0
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `aibubble` app."""
    app.command("viz")(viz)
