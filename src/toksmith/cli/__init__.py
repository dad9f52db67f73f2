"""The `toksmith` command line: a thin Typer app; every command is one call into the library.

Only this package knows about argv, colours and exit codes. One module per capability registers its
commands on the shared app. Heavy imports (torch, transformers) happen inside the commands, so
`toksmith --help` stays fast.
"""

from __future__ import annotations

import sys
from importlib import import_module

from toksmith.cli._app import app

#: Command modules, in the order `toksmith --help` lists them; importing one registers its commands.
COMMAND_MODULES = ("measure", "build", "score", "generate", "swap")
for _module in COMMAND_MODULES:
    import_module(f"toksmith.cli.{_module}")

__all__ = ["app", "main"]


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
