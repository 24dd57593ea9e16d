"""Start `aibubble viz` on a free local port for the browser tests, and stop it after.

The command runs in its own process group: the CLI starts solara as a child, and stopping
the group stops both.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# Headless flags for Debian's chromium: no sandbox (containers, root), and nothing that
# phones home (the page must work with no network at all).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, proc: subprocess.Popen, timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll `url` until it answers, the server dies, or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the viz server exited with code {proc.returncode} before serving {url}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.3)
    raise TimeoutError(f"the viz server did not answer at {url} within {timeout_s:.0f} s")


@contextlib.contextmanager
def viz_server(*args: str, log: Path) -> Iterator[str]:
    """Run `aibubble viz ARGS --port P` and yield its base URL; output goes to `log`."""
    port = free_port()
    cmd = [sys.executable, "-m", "scenarios.cli", "viz", *args, "--port", str(port)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        log.open("a") as out,  # append: a module fixture may start more than one server per run
        subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True) as proc,
    ):
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_serving(url, proc)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
