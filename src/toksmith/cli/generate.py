"""`toksmith generate`: byte-level generation from the exact byte distribution."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from toksmith import defaults
from toksmith.cli._app import QuietOpt, _fail, _Progress, app, console
from toksmith.errors import ToksmithError

# --- generate ----------------------------------------------------------------------------------------


@app.command("generate")
def generate_cmd(
    model: Annotated[str, typer.Argument(help="A model or an ensemble a+b.")],
    prompt: Annotated[str, typer.Option("--prompt", help="Text to continue; may end inside a word or token.")],
    max_bytes: Annotated[int, typer.Option(help="Bytes to generate at most.")] = 64,
    temperature: Annotated[float, typer.Option(help="0 = greedy; else sample at this temperature.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    mode: Annotated[str, typer.Option(help="Ensemble: mixture or product.")] = defaults.ENSEMBLE_MODE,
    device: Annotated[str | None, typer.Option(help="cpu, cuda (default: cuda if available).")] = None,
    dtype: Annotated[str, typer.Option(help="float32, bfloat16 or float16.")] = defaults.DTYPE,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON object instead of the text.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate bytes after a prompt from the exact byte-level distribution (no tokenization bias)."""
    import json

    from toksmith.bridge.api import run_generate

    show = not quiet and console.is_terminal and not json_out
    try:
        with _Progress(show) as prog:
            res = run_generate(model, prompt, max_bytes=max_bytes, temperature=temperature, seed=seed, mode=mode,
                               device=device, dtype=dtype,
                               on_byte=lambda b: prog.update("generating", 1, max_bytes))
    except ToksmithError as e:
        raise _fail(e) from None
    if json_out:
        console.print_json(json.dumps(res.to_dict()))
    else:
        sys.stdout.write(prompt + res.output.decode("utf-8", "replace") + "\n")


