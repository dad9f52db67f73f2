"""swap: `toksmith transplant` (give a model a new tokenizer, evaluate it in bits per byte)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toksmith import defaults
from toksmith.cli._app import QuietOpt, _fail, _Progress, app, console
from toksmith.errors import ToksmithError


@app.command("transplant")
def transplant_cmd(
    model: Annotated[str, typer.Argument(help="Base model: smollm2, gemma3, a .gguf or a transformers directory.")],
    tokenizer: Annotated[str, typer.Option("--tokenizer", help="The new tokenizer (any spec load_tokenizer takes).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the first method's model here (HF directory).")]
    = None,
    method: Annotated[str, typer.Option("--method", help="copy, fvt, omp, hybrid, random, mean; several: "
                                                         "copy,omp (the first is saved).")] = "",
    donor: Annotated[str | None, typer.Option("--donor", help="Donor model for omp (its tokenizer covers the new "
                                                              "tokens).")] = None,
    k: Annotated[int | None, typer.Option("--k", help="Anchors per token for omp.")] = None,
    per_step: Annotated[int, typer.Option("--per-step", help="Anchors omp adds per pass (1: plain OMP).")] = 1,
    output_share: Annotated[float | None, typer.Option("--output-share", help="New token t's output row: mean + a_t * "
                                                    "(recipe - mean), a_t = SHARE * (1 - DECAY * t / V); share 0 "
                                                    "bounds their mass hardest.")] = None,
    output_decay: Annotated[float | None, typer.Option("--output-decay", help="See --output-share (default: the "
                                                    "library's for copy/hybrid, 0 otherwise).")] = None,
    eval_files: Annotated[list[Path] | None, typer.Option("--eval", help="Held-out text: print BPB side by side.")]
    = None,
    gguf: Annotated[bool, typer.Option("--gguf", help="Also write model.gguf into --out.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out.")] = False,
    window: Annotated[int, typer.Option(help="Evaluation window, tokens.")] = defaults.WINDOW,
    stride: Annotated[int, typer.Option(help="Evaluation window step, tokens.")] = defaults.STRIDE,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Give a pretrained model a new tokenizer without training; evaluate it in bits per byte."""
    import json

    from toksmith.io import atomic_write_text
    from toksmith.transplant import DEFAULT_METHOD
    from toksmith.transplant.run import run_transplant

    show = not quiet and console.is_terminal
    methods = [m.strip() for m in (method or DEFAULT_METHOD).split(",") if m.strip()]
    try:
        with _Progress(show) as prog:
            rep = run_transplant(model, tokenizer, methods=methods, donor=donor, out=out,
                                 eval_files=list(eval_files or []), gguf=gguf, force=force, k=k, per_step=per_step,
                                 output_share=output_share,
                                 output_decay=output_decay, window=window, stride=stride, progress=prog.update)
        data = rep.to_dict()
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    except ToksmithError as e:
        raise _fail(e) from None
    if quiet:
        return
    for r in rep.results[: len(methods)]:
        console.print(f"{r.method}: {r.copied:,} of {r.lm.tokenizer.vocab.size:,} tokens copied exactly, "
                      f"{r.initialised:,} initialised ({r.seconds:.1f} s)")
    if rep.out is not None:
        console.print(f"wrote {rep.out}")
    ev = rep.evaluation
    if ev is None:
        return
    from rich.table import Table

    table = Table(title=f"bits per byte, {ev.bytes:,} held-out bytes, {ev.documents} docs (window {ev.window}, "
                        f"stride {ev.stride}); 95% paired bootstrap CIs")
    for col in ("model", "BPB", "95% CI", "vs original (CI)", "copied", "BPB copied/new", "new bytes"):
        table.add_column(col, justify="left" if col == "model" else "right")

    def ci(c: list[float] | None) -> str:
        return f"{c[0]:.3f}-{c[1]:.3f}" if c else "-"

    for r in ev.rows:
        orig = r.method == "original"
        split = "" if orig else f"{r.bpb_copied or 0:.3f}/" + (f"{r.bpb_new:.3f}" if r.bpb_new is not None else "-")
        table.add_row(r.name, f"{r.bits_per_byte:.4f}", ci(r.ci), "" if orig else f"{r.delta:+.3f} ({ci(r.delta_ci)})",
                      "" if orig else f"{r.copied:,}", split, "" if orig else f"{r.bytes_new:,}")
    console.print(table)
    for n in ev.notes:
        console.print(f"note: {n}")
