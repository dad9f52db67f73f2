"""bridge: `toksmith score` (bits per byte, token-level and byte-level)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toksmith import defaults
from toksmith.cli._app import QuietOpt, _fail, _Progress, app, console, parse_numbers
from toksmith.errors import ToksmithError

# --- bridge: score, generate ------------------------------------------------------------------------


@app.command("score")
def score_cmd(
    models: Annotated[list[str], typer.Argument(help="Models: smollm2, gemma3, a .gguf, a transformers dir; "
                                                "a+b is an ensemble scored byte by byte.")],
    corpus: Annotated[list[str], typer.Option("--corpus", help="Corpus files, directories or globs.")],
    window: Annotated[int, typer.Option(help="Sliding window, tokens.")] = defaults.WINDOW,
    stride: Annotated[int, typer.Option(help="Window step, tokens (each token scored once).")] = defaults.STRIDE,
    max_bytes: Annotated[int | None, typer.Option(help="Score only the first N bytes of each file.")] = None,
    byte_level: Annotated[bool, typer.Option("--byte-level", help="Also score single models byte by byte "
                                             "(exact ByteLM).")] = False,
    ensemble_bytes: Annotated[int | None, typer.Option(help="Score only the first N bytes of each file byte by "
                                                       "byte (a+b, --byte-level); default and 0: whole files.")
                              ] = defaults.BYTE_LEVEL_MAX_BYTES,
    mode: Annotated[str, typer.Option(help="Ensemble: mixture or product.")] = defaults.ENSEMBLE_MODE,
    weights: Annotated[str | None, typer.Option(help="Ensemble weights, e.g. 0.5,0.5.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda (default: cuda if available).")] = None,
    dtype: Annotated[str, typer.Option(help="float32, bfloat16 or float16.")] = defaults.DTYPE,
    out: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    engine: Annotated[str, typer.Option(help="Token-level windows run local, or on ray (RAY_ADDRESS, else a "
                                        "local Ray; one GPU per worker when present).")] = "local",
    quiet: QuietOpt = False,
) -> None:
    """Bits per byte of language models on a corpus: comparable across tokenizers."""
    import json

    from rich.table import Table

    from toksmith.bridge.api import run_score
    from toksmith.io import atomic_write_text

    show = not quiet and console.is_terminal
    try:
        w = parse_numbers(weights, "--weights", float)
        with _Progress(show) as prog:
            rep = run_score(models, corpus, window=window, stride=stride, max_bytes=max_bytes,
                            byte_level=byte_level, byte_max_bytes=ensemble_bytes or None, mode=mode, weights=w,
                            device=device, dtype=dtype, engine=engine,
                            progress=prog.update)
        data = rep.to_dict()
        if out is not None:
            atomic_write_text(out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    except ToksmithError as e:
        raise _fail(e) from None
    if quiet:
        return
    if not console.is_terminal and out is None:
        console.print_json(json.dumps(data))
        return
    table = Table(title=f"bits per byte (window {window}, stride {stride} tokens)")
    for col in ("model", "file", "level", "bytes", "BPB", "tokens/byte", "bytes/s"):
        table.add_column(col, justify="left" if col in ("model", "file", "level") else "right")
    for r in rep.rows:
        tpb = f"{r['tokens_per_byte']:.4f}" if r["tokens_per_byte"] else "-"
        table.add_row(r["model"], Path(r["file"]).name, r["level"], f"{r['bytes']:,}", f"{r['bits_per_byte']:.4f}",
                      tpb, f"{r['bytes_per_second']:,.0f}" if r["bytes_per_second"] else "-")
    console.print(table)


