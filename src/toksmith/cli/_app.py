"""The Typer app, consoles, error exit and the one progress bar shared by every command module."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from toksmith.errors import ToksmithError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="A workbench for the tokens of language models.")
vocab_app = typer.Typer(no_args_is_help=True, help="Inspect and compare vocabularies.")
app.add_typer(vocab_app, name="vocab")

console = Console()
err_console = Console(stderr=True)

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or chatter.")]


def parse_numbers(value: str | None, option: str, kind: type[int] | type[float] = int) -> list | None:
    """Parse a comma-separated option value ('4096,8192'); None stays None; a bad item is an OptionError."""
    from toksmith.errors import OptionError

    if value is None:
        return None
    try:
        return [kind(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise OptionError(f"{option} must be comma-separated {kind.__name__}s, got {value!r}") from None


def _fail(e: ToksmithError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


class _Progress:
    """The one rich progress bar of the CLI (stderr, transient); silent unless `show`.

    Serves both progress protocols of the library: phases with `advance` (train) and per-label
    `update(label, done, total)` (score, generate). Notes go to stderr even when quiet.
    """

    def __init__(self, show: bool) -> None:
        self.show = show
        self._bar = None
        self._task = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> _Progress:
        if self.show:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=err_console, transient=True)
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def phase(self, name: str, total: int | None) -> None:
        if self._bar is not None:
            if self._task is not None:
                self._bar.update(self._task, visible=False)
            self._task = self._bar.add_task(name, total=total)

    def advance(self, n: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, n)

    def update(self, label: str, done: int, total: int) -> None:
        if self._bar is None:
            return
        if label not in self._tasks:
            self._tasks[label] = self._bar.add_task(label, total=total or None)
        self._bar.advance(self._tasks[label], done)

    def note(self, message: str) -> None:
        target = self._bar.console if self._bar is not None else err_console
        target.print(f"[yellow]note:[/] {message}", highlight=False, soft_wrap=True)


