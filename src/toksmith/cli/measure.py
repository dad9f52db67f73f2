"""measure: `toksmith vocab overlap`, `toksmith eval`, `toksmith inspect`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from toksmith import defaults
from toksmith.cli._app import QuietOpt, _fail, app, console, err_console, vocab_app
from toksmith.errors import ToksmithError

# --- measure: vocab overlap --------------------------------------------------------------------------


@vocab_app.command("overlap")
def vocab_overlap(
    a: Annotated[str, typer.Argument(help="First tokenizer (file, directory or short name).")],
    b: Annotated[str, typer.Argument(help="Second tokenizer.")],
    examples: Annotated[int, typer.Option(help="How many differing tokens to list per side.")] = 12,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the overlap as JSON here.")] = None,
) -> None:
    """Byte-exact overlap of two vocabularies, next to the naive string overlap."""
    from rich.table import Table

    from toksmith.io import atomic_write_text
    from toksmith.tokenizers import load_tokenizer

    try:
        ta, tb = load_tokenizer(a), load_tokenizer(b)
    except ToksmithError as e:
        raise _fail(e) from None
    ov = ta.vocab.overlap(tb.vocab, name=ta.name, other_name=tb.name)
    d = ov.to_dict(examples=examples)
    t = Table(title=f"vocabulary overlap: {ta.name} vs {tb.name}")
    t.add_column("")
    t.add_column(ta.name, justify="right")
    t.add_column(tb.name, justify="right")
    t.add_row("token ids (|V|)", f"{ov.sizes[0]:,}", f"{ov.sizes[1]:,}")
    t.add_row("distinct text tokens (bytes)", f"{ov.text_tokens[0]:,}", f"{ov.text_tokens[1]:,}")
    t.add_row("special tokens", f"{len(ov.specials_a):,}", f"{len(ov.specials_b):,}")
    t.add_row("only in this vocabulary", f"{len(ov.only_a):,}", f"{len(ov.only_b):,}")
    console.print(t)
    console.print(f"[bold]byte-exact shared tokens:[/] {ov.byte_exact_shared:,}")
    console.print(f"naive string overlap:      {ov.naive_shared:,}"
                  f"  (of which {ov.naive_false_matches:,} are the same string but different bytes)")
    if ov.shared_special_roles:
        console.print(f"special roles in both: {', '.join(ov.shared_special_roles)}")
    for name, ex in d["examples_only_in"].items():
        console.print(f"only in {name}: " + "  ".join(repr(x) for x in ex), highlight=False, soft_wrap=True)
    if json_out is not None:
        import json

        try:
            atomic_write_text(json_out, json.dumps(d, indent=2, ensure_ascii=False) + "\n")
        except ToksmithError as e:
            raise _fail(e) from None


# --- measure: eval ----------------------------------------------------------------------------------


@app.command("eval")
def eval_cmd(
    tokenizers: Annotated[list[str], typer.Argument(help="Tokenizers (files, directories, short names or Hub "
                                                    "ids org/name).")],
    corpus: Annotated[list[str] | None, typer.Option("--corpus", help="Corpus files, directories or globs "
                                                     "(repeatable), or a dataset hf:NAME[:CONFIG][@REV].")] = None,
    parallel: Annotated[str | None, typer.Option("--parallel", help="Parallel corpus: one file per "
                                                 "language, or hf:NAME (one config or column per language).")] = None,
    split: Annotated[str | None, typer.Option(help="Dataset split of an hf: corpus.")] = None,
    field: Annotated[str, typer.Option(help="JSON Lines field, Parquet or dataset column with the text.")] = "text",
    revision: Annotated[str | None, typer.Option(help="Revision of tokenizers given as Hub ids.")] = None,
    engine: Annotated[str, typer.Option(help="Where the corpus pass runs: local, or ray (RAY_ADDRESS, else a "
                                        "local Ray); same results.")] = "local",
    pivot: Annotated[str, typer.Option(help="Pivot language of the premiums.")] = defaults.PIVOT,
    out: Annotated[Path, typer.Option("--out", help="Output directory for results.json and "
                                      "report.html.")] = Path("out/eval"),
    metrics: Annotated[str | None, typer.Option(help="Comma-separated metrics or families (default: all that "
                                                "apply).")] = None,
    errors: Annotated[str, typer.Option(help="Invalid UTF-8 in the corpus: strict or replace.")] = "strict",
    newlines: Annotated[str, typer.Option(help="Line endings: keep (raw bytes, CRLF counted) or lf (CRLF "
                                          "becomes LF).")] = "keep",
    quiet: QuietOpt = False,
) -> None:
    """Measure tokenizers: compression, fertility, premiums, Gini, entropy, numbers, consistency, speed."""
    from toksmith.evaluate.api import run_eval

    show = not quiet and console.is_terminal
    with _eval_progress(show) as say:
        try:
            res, paths = run_eval(tokenizers, corpus=corpus, parallel=parallel, pivot=pivot, out=out,
                                  metrics=metrics.split(",") if metrics else None, errors=errors, newlines=newlines,
                                  field=field, split=split, revision=revision, engine=engine, progress=say)
        except ToksmithError as e:
            raise _fail(e) from None
    console.print(res.table())
    for w in res.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False, soft_wrap=True)
    if not quiet:
        console.print("wrote " + ", ".join(str(p) for p in paths.values()), highlight=False, soft_wrap=True)


def _eval_progress(show: bool):  # noqa: ANN202
    import contextlib

    @contextlib.contextmanager
    def cm():  # noqa: ANN202
        if not show:
            yield lambda _msg: None
            return
        with console.status("starting") as status:
            yield lambda msg: status.update(msg)

    return cm()


# --- measure: inspect -------------------------------------------------------------------------------


@app.command("inspect")
def inspect_cmd(
    args: Annotated[list[str], typer.Argument(
        help="One or more tokenizers (file, directory or short name), then the text ('-': read it from "
             "stdin). With --file, every argument is a tokenizer.", metavar="TOKENIZER... TEXT")],
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the text from a file.")] = None,
    ids: Annotated[bool, typer.Option("--ids", help="Print each token's id after it.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Show how each tokenizer cuts the same text: token boundaries in colour, counts and bytes/token.

    Bytes of a character split across tokens are shown in hex.
    Example: toksmith inspect smollm2 cl100k "Hello 世界"
    """
    import contextlib

    from toksmith.errors import CorpusError
    from toksmith.report.terminal import render_inspect
    from toksmith.tokenizers import load_tokenizer

    try:
        if file is not None:
            specs = list(args)
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise CorpusError(f"{file}: cannot read as UTF-8 text ({e})") from e
        else:
            if len(args) < 2:
                raise ToksmithError("give at least one tokenizer and the text (or --file PATH)")
            specs, text = list(args[:-1]), args[-1]
            if text == "-":
                text = sys.stdin.read()
        if not specs:
            raise ToksmithError("give at least one tokenizer")
        spinner = not quiet and err_console.is_terminal
        with err_console.status("loading tokenizers") if spinner else contextlib.nullcontext():
            toks = [load_tokenizer(s) for s in specs]
        # Without colour the boundaries would vanish: separate tokens with a bar instead.
        plain = not console.is_terminal or console.no_color
        view = render_inspect(toks, text, show_ids=ids, separator="│" if plain else None)
        console.print(view, soft_wrap=False, highlight=False)
    except ToksmithError as e:
        raise _fail(e) from None


