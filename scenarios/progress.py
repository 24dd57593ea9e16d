"""Sweep progress: a live bar on a terminal, plain lines in logs and CI."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class SweepProgress:
    """Counts runs done and failed; shows rate and ETA.

    Args:
        total: runs this invocation will do (finished runs already skipped).
        label: what is running, e.g. "sweep baseline".
        stream: where to write (stderr by default, so stdout stays clean).
        live: a rich bar (True), plain lines (False), or decide by whether stream is a TTY.
        every_s: plain mode prints at most one line per this many seconds.
    """

    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 live: bool | None = None, every_s: float = 5.0) -> None:
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.done = self.failed = 0
        self.every_s = every_s
        self._t0 = time.monotonic()
        self._last_line = self._t0
        live = self.stream.isatty() if live is None else live
        self._bar: Progress | None = None
        if live and total:
            self._bar = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("failed {task.fields[failed]}"),
                TextColumn("{task.fields[rate]}"), TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(file=self.stream), transient=False,
            )
            self._task = self._bar.add_task(label, total=total, failed=0, rate="")
            self._bar.start()

    def _rate(self) -> float:
        elapsed = time.monotonic() - self._t0
        return (self.done + self.failed) / elapsed if elapsed > 0 else 0.0

    def _line(self) -> str:
        n = self.done + self.failed
        rate = self._rate()
        eta = (self.total - n) / rate if rate > 0 else float("nan")
        return (f"{self.label}: {n}/{self.total} runs, {self.failed} failed, "
                f"{rate:.2f} runs/s, ETA {eta:.0f} s")

    def advance(self, ok: bool) -> None:
        """Count one run."""
        if ok:
            self.done += 1
        else:
            self.failed += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=self.failed,
                             rate=f"{self._rate():.2f} runs/s")
        elif time.monotonic() - self._last_line >= self.every_s:
            self._last_line = time.monotonic()
            print(self._line(), file=self.stream, flush=True)

    def close(self) -> None:
        """Stop the bar, or print the last line."""
        if self._bar is not None:
            self._bar.stop()
        else:
            print(self._line(), file=self.stream, flush=True)
