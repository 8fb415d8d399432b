"""What a person sees in the terminal: one line per stage, progress bars, report tables.

Verbs run inside `quiet(log_file)`: everything the libraries print (TensorFlow's C++ logs, the
TFLite converter, Keras, TFDS, Blender) goes to the run's log.txt at the file-descriptor level,
and only what this module writes reaches the terminal (`say`, `progress`, `table`). With
`verbose=true` nothing is redirected and the logs stay on the terminal too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path

_terminal = None  # the terminal's stream while a quiet() block redirects stdout and stderr


def terminal():
    """The stream a person reads: the real stderr, also inside `quiet`."""
    return _terminal or sys.stderr


def interactive() -> bool:
    """Whether progress bars may redraw (a terminal, not CI)."""
    return terminal().isatty() and not os.environ.get("CI")


def say(line: str) -> None:
    print(line, file=terminal(), flush=True)


@contextlib.contextmanager
def quiet(log_file: Path, verbose: bool = False):
    """Send the process's stdout, stderr and Python logging to log_file (appended) for the block;
    the terminal gets only `say`, `progress` and `table`. Nested blocks (the demo's stages) write
    to their own log; the terminal stays the outermost one's."""
    global _terminal
    log_file = Path(log_file)
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if verbose:
        try:
            yield
        finally:
            root.removeHandler(handler)
            handler.close()
        return
    console = [h for h in root.handlers if type(h) is logging.StreamHandler]  # the CLI's, to stderr
    for h in console:
        root.removeHandler(h)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    outer = _terminal
    if outer is None:
        _terminal = os.fdopen(os.dup(2), "w", buffering=1)
    with open(log_file, "a") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        if outer is None:
            _terminal.close()
            _terminal = None
        for h in console:
            root.addHandler(h)
        root.removeHandler(handler)
        handler.close()


class progress:
    """A progress bar with rate and ETA on the terminal (`with progress("render", 200, "frames") as
    advance: advance(1)`); silent where the terminal cannot redraw (CI, a pipe)."""

    def __init__(self, name: str, total: int, unit: str):
        self.name, self.total, self.unit = name, total, unit

    def __enter__(self):
        if not interactive() or not self.total:
            self.bar = None
            return lambda k=1: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        unit = self.unit

        class Rate(ProgressColumn):
            def render(self, task):
                return f"{task.speed:.2f} {unit}/s" if task.speed else f"-- {unit}/s"

        self.bar = Progress(
            TextColumn(self.name),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=terminal()),
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task(self.name, total=self.total)
        return lambda k=1: self.bar.advance(task, k)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()


def table(title: str, rows: list[tuple[str, str]]) -> None:
    """A two-column report on the terminal: figure, value (rounded, with units; paths whole, never cut)."""
    if not rows:
        return
    width = max(len(name) for name, _ in rows)
    say(title)
    for name, value in rows:
        say(f"  {name:<{width}}  {value}")
