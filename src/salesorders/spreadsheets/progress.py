"""A progress bar for long imports, drawn with rich (``pip install "salesorders[cli]"``).

Every import takes ``progress=``, any callable ``(phase, rows_done, rows_total)``;
:func:`rich_progress` gives one that draws a bar per phase (checking, then importing)::

    with rich_progress() as progress:
        import_orders(service, "orders.csv", progress=progress)
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

from salesorders.errors import MissingExtraError
from salesorders.spreadsheets.report import Progress

__all__ = ["rich_progress"]


@contextlib.contextmanager
def rich_progress(*, console: Any = None, transient: bool = False) -> Iterator[Progress]:
    """A progress callback drawing rich progress bars on ``console`` (by default stderr's)
    while the ``with`` block runs."""
    try:
        progress_module = importlib.import_module("rich.progress")
        console_module = importlib.import_module("rich.console")
    except ImportError as missing:
        raise MissingExtraError.needs("cli", "rich", "the import progress bar") from missing
    chosen = console if console is not None else console_module.Console(stderr=True)
    bars = progress_module.Progress(
        progress_module.TextColumn("{task.description}"),
        progress_module.BarColumn(),
        progress_module.MofNCompleteColumn(),
        progress_module.TimeElapsedColumn(),
        console=chosen,
        transient=transient,
    )
    tasks: dict[str, Any] = {}

    def report(phase: str, done: int, total: int | None) -> None:
        task = tasks.get(phase)
        if task is None:
            task = tasks[phase] = bars.add_task(phase, total=total)
        bars.update(task, completed=done, total=total)

    with bars:
        yield report
