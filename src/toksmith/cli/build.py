"""build: `toksmith train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from toksmith import defaults
from toksmith.cli._app import QuietOpt, _fail, _Progress, app, console, parse_numbers
from toksmith.errors import ToksmithError

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
    max_words_per_token: Annotated[int, typer.Option(help="Merge filter: words per token (0 = off).")
                                   ] = defaults.MAX_WORDS_PER_TOKEN,
    forbid: Annotated[list[str] | None, typer.Option("--forbid", help="Merge filter: a substring no token may "
                                                     "contain (repeatable), e.g. ': '.")] = None,
    max_token_chars: Annotated[int | None, typer.Option(help="Merge filter: characters per token "
                                                        "(1 = character-level vocabulary).")] = None,
    min_frequency: Annotated[int, typer.Option(help="Never merge pairs seen fewer times.")] = defaults.MIN_FREQUENCY,
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
        sizes = parse_numbers(save_sizes, "--save-sizes") or []
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
    except ToksmithError as e:
        raise _fail(e) from None
    if not quiet:
        st = rep.stats
        if "distinct_pretokens" in st:
            console.print(f"{st['corpus_bytes'] / 1e6:.1f} MB, {st['distinct_pretokens']:,} distinct pre-tokens, "
                          f"{st['merges']:,} merges in {st['seconds']:.1f} s", highlight=False)
        for size, path in sorted(rep.outputs.items()):
            console.print(f"wrote {path} ({size:,} tokens)", highlight=False, soft_wrap=True)


