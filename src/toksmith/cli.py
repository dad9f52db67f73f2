"""The `toksmith` command line: a thin Typer app; every command is one call into the library.

Only this module knows about argv, colours and exit codes. Heavy imports (torch, transformers)
happen inside the commands, so `toksmith --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
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
    tokenizers: Annotated[list[str], typer.Argument(help="Tokenizers (files, directories or short names).")],
    corpus: Annotated[list[str] | None, typer.Option("--corpus", help="Corpus files, directories or globs "
                                                     "(repeatable).")] = None,
    parallel: Annotated[Path | None, typer.Option("--parallel", help="Parallel corpus: one file per "
                                                  "language.")] = None,
    pivot: Annotated[str, typer.Option(help="Pivot language of the premiums.")] = "eng",
    out: Annotated[Path, typer.Option("--out", help="Output directory for results.json and "
                                      "report.html.")] = Path("out/eval"),
    metrics: Annotated[str | None, typer.Option(help="Comma-separated metrics or families (default: all that "
                                                "apply).")] = None,
    errors: Annotated[str, typer.Option(help="Invalid UTF-8 in the corpus: strict or replace.")] = "strict",
    quiet: QuietOpt = False,
) -> None:
    """Measure tokenizers: compression, fertility, premiums, Gini, entropy, numbers, consistency, speed."""
    from toksmith.evaluate.api import run_eval

    show = not quiet and console.is_terminal
    with _eval_progress(show) as say:
        try:
            res, paths = run_eval(tokenizers, corpus=corpus, parallel=parallel, pivot=pivot, out=out,
                                  metrics=metrics.split(",") if metrics else None, errors=errors,
                                  progress=say)
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


# --- build: train -----------------------------------------------------------------------------------


@app.command("train")
def train_cmd(
    corpus: Annotated[list[str], typer.Option("--corpus", help="Corpus files, directories or globs (repeatable).")],
    vocab_size: Annotated[int, typer.Option("--vocab-size", help="Total ids: 256 bytes + learned + special.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory for tokenizer.json and "
                                      "tokenizer_config.json.")],
    model: Annotated[str, typer.Option(help="bpe or unigram (SentencePiece).")] = "bpe",
    preset: Annotated[str, typer.Option(help="Pre-tokenizer: gpt2, cl100k (= Llama 3), o200k, superbpe-stage2.")
                      ] = "cl100k",
    regex: Annotated[str | None, typer.Option(help="Custom pre-tokenizer regex (instead of --preset).")] = None,
    numbers: Annotated[str | None, typer.Option(help="Digit split before the regex: single, l2r3, r2l3.")] = None,
    superbpe_transition: Annotated[int | None, typer.Option(
        "--superbpe-transition", help="SuperBPE: merges learned with the preset before tokens may cross "
        "single spaces.")] = None,
    max_words_per_token: Annotated[int, typer.Option(help="Merge filter: words per token (0 = off).")] = 4,
    forbid: Annotated[list[str] | None, typer.Option("--forbid", help="Merge filter: a substring no token may "
                                                     "contain (repeatable), e.g. ': '.")] = None,
    max_token_chars: Annotated[int | None, typer.Option(help="Merge filter: characters per token "
                                                        "(1 = character-level vocabulary).")] = None,
    min_frequency: Annotated[int, typer.Option(help="Never merge pairs seen fewer times.")] = 2,
    special: Annotated[list[str] | None, typer.Option("--special", help="Special tokens (repeatable; default "
                                                      "<|endoftext|>).")] = None,
    extend: Annotated[Path | None, typer.Option(help="Replay this byte-level BPE tokenizer.json's merges, "
                                                "then continue.")] = None,
    save_sizes: Annotated[str | None, typer.Option("--save-sizes", help="Also write nested tokenizers of these "
                                                   "sizes, e.g. 4096,8192 (to OUT/<size>/).")] = None,
    engine: Annotated[str, typer.Option(help="Where pre-token counting runs: local or ray.")] = "local",
    threads: Annotated[int | None, typer.Option(help="Counting threads (default: up to 4).")] = None,
    errors: Annotated[str, typer.Option(help="Invalid UTF-8 in the corpus: strict or replace.")] = "strict",
    quiet: QuietOpt = False,
) -> None:
    """Train a tokenizer (byte-level BPE, SuperBPE or Unigram) and write Hugging Face files."""
    from toksmith.errors import TrainingError
    from toksmith.train.api import DEFAULT_SPECIALS, train

    show = not quiet and console.is_terminal
    try:
        sizes = [int(s) for s in save_sizes.split(",") if s.strip()] if save_sizes else []
        opts: dict = {"numbers": numbers, "max_token_chars": max_token_chars, "threads": threads}
        if model == "bpe":
            opts.update(engine=engine, preset=preset, regex_pattern=regex, superbpe_transition=superbpe_transition,
                        max_words_per_token=max_words_per_token, forbidden_substrings=forbid or [],
                        min_frequency=min_frequency, extend=extend,
                        special_tokens=special if special is not None else DEFAULT_SPECIALS)
        else:
            if engine != "local":
                raise TrainingError("Unigram training (SentencePiece) runs with --engine local only")
            opts = {k: v for k, v in opts.items() if v is not None}
        with _Progress(show) as prog:
            rep = train(corpus, out, vocab_size=vocab_size, model=model, save_sizes=sizes, errors=errors,
                        progress=prog, **opts)
    except ValueError as e:
        raise _fail(ToksmithError(f"--save-sizes must be comma-separated integers ({e})")) from None
    except ToksmithError as e:
        raise _fail(e) from None
    if not quiet:
        st = rep.stats
        if "distinct_pretokens" in st:
            console.print(f"{st['corpus_bytes'] / 1e6:.1f} MB, {st['distinct_pretokens']:,} distinct pre-tokens, "
                          f"{st['merges']:,} merges in {st['seconds']:.1f} s", highlight=False)
        for size, path in sorted(rep.outputs.items()):
            console.print(f"wrote {path} ({size:,} tokens)", highlight=False, soft_wrap=True)


# --- bridge: score, generate ------------------------------------------------------------------------


@app.command("score")
def score_cmd(
    models: Annotated[list[str], typer.Argument(help="Models: smollm2, gemma3, a .gguf, a transformers dir; "
                                                "a+b is an ensemble scored byte by byte.")],
    corpus: Annotated[list[str], typer.Option("--corpus", help="Corpus files, directories or globs.")],
    window: Annotated[int, typer.Option(help="Sliding window, tokens.")] = 1024,
    stride: Annotated[int, typer.Option(help="Window step, tokens (each token scored once).")] = 512,
    max_bytes: Annotated[int | None, typer.Option(help="Score only the first N bytes of each file.")] = None,
    ensemble_bytes: Annotated[int, typer.Option(help="Bytes per file scored byte by byte for a+b.")] = 2000,
    mode: Annotated[str, typer.Option(help="Ensemble: mixture or product.")] = "mixture",
    weights: Annotated[str | None, typer.Option(help="Ensemble weights, e.g. 0.5,0.5.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda (default: cuda if available).")] = None,
    dtype: Annotated[str, typer.Option(help="float32, bfloat16 or float16.")] = "float32",
    out: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Bits per byte of language models on a corpus: comparable across tokenizers."""
    import json

    from rich.table import Table

    from toksmith.bridge.api import run_score
    from toksmith.io import atomic_write_text

    show = not quiet and console.is_terminal
    try:
        w = [float(x) for x in weights.split(",")] if weights else None
        with _Progress(show) as prog:
            rep = run_score(models, corpus, window=window, stride=stride, max_bytes=max_bytes,
                            ensemble_max_bytes=ensemble_bytes, mode=mode, weights=w, device=device, dtype=dtype,
                            progress=prog.update)
    except ValueError as e:
        raise _fail(ToksmithError(str(e))) from None
    except ToksmithError as e:
        raise _fail(e) from None
    data = rep.to_dict()
    if out is not None:
        atomic_write_text(out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
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


@app.command("generate")
def generate_cmd(
    model: Annotated[str, typer.Argument(help="A model or an ensemble a+b.")],
    prompt: Annotated[str, typer.Option("--prompt", help="Text to continue; may end inside a word or token.")],
    max_bytes: Annotated[int, typer.Option(help="Bytes to generate at most.")] = 64,
    temperature: Annotated[float, typer.Option(help="0 = greedy; else sample at this temperature.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    mode: Annotated[str, typer.Option(help="Ensemble: mixture or product.")] = "mixture",
    device: Annotated[str | None, typer.Option(help="cpu, cuda (default: cuda if available).")] = None,
    dtype: Annotated[str, typer.Option(help="float32, bfloat16 or float16.")] = "float32",
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
    except ValueError as e:
        raise _fail(ToksmithError(str(e))) from None
    except ToksmithError as e:
        raise _fail(e) from None
    if json_out:
        console.print_json(json.dumps(res.to_dict()))
    else:
        sys.stdout.write(prompt + res.output.decode("utf-8", "replace") + "\n")


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
