"""`toksmith generate`: byte-level generation from the exact byte distribution."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from toksmith import defaults
from toksmith.cli._app import QuietOpt, _fail, _Progress, app, console
from toksmith.errors import OptionError, ToksmithError

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
    tokens: Annotated[int | None, typer.Option(help="New tokens at most (token-level; see --speculate).")] = None,
    speculate: Annotated[str | None, typer.Option(
        help="Token-level greedy with lossless drafts: greedy, recycle, suffix or hybrid.")] = None,
    compare: Annotated[bool, typer.Option(help="Also run plain greedy; print tokens/s, MAT and speedup.")] = False,
    tree: Annotated[str | None, typer.Option(
        help="Draft-tree template: cpu, tr80, widths like 3,3,2,1, a .json file of rank paths, "
             "or dynN (N nodes grown each step from M's probabilities). Default per device: on a CPU cpu "
             "for recycle, dyn1 for hybrid; on a GPU tr80 for recycle, dyn128 for hybrid "
             "(toksmith.decoding.CPU_DEFAULTS, GPU_DEFAULTS).")] = None,
    suffix_len: Annotated[int | None, typer.Option(help="Longest suffix-draft chain per step.")] = None,
    min_match: Annotated[int | None, typer.Option(
        help="Shortest suffix match (tokens) that drafts a chain (default 1; 4 for hybrid on a CPU with the "
             "default --tree).")] = None,
    adjacency: Annotated[str | None, typer.Option(help="Hot-start M from this .safetensors file.")] = None,
    save_adjacency: Annotated[str | None, typer.Option(help="Write M here afterwards (.safetensors).")] = None,
    chat: Annotated[bool, typer.Option(
        help="Token-level: send the prompt as a user turn in the model's chat template; print the reply.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate after a prompt: bytes from the exact byte-level distribution, or tokens (--speculate)."""
    import json

    if chat and speculate is None and tokens is None:
        raise _fail(OptionError("--chat is token-level: give --speculate or --tokens too"))
    if speculate is not None or tokens is not None:
        _speculate(model, prompt, tokens=tokens, method=speculate or "greedy",
                   compare=compare, tree=tree, suffix_len=suffix_len, min_match=min_match, adjacency=adjacency,
                   save_adjacency=save_adjacency, device=device, dtype=dtype, json_out=json_out, quiet=quiet,
                   chat=chat)
        return

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


def _speculate(model: str, prompt: str, *, tokens: int | None, method: str, compare: bool, tree: str | None,
               suffix_len: int | None, min_match: int | None, adjacency: str | None,
               save_adjacency: str | None, device: str | None, dtype: str, json_out: bool, quiet: bool,
               chat: bool) -> None:
    """Token-level greedy decoding with drafts (toksmith.decoding.speculate); prints text and speed."""
    import json

    from toksmith.decoding.api import DEFAULTS
    from toksmith.decoding.run import speculate as run_speculate

    tokens = DEFAULTS["max_new_tokens"] if tokens is None else tokens

    show = not quiet and console.is_terminal and not json_out
    try:
        with _Progress(show) as prog:
            prog.phase("decoding", None)
            res = run_speculate(model, prompt, max_new_tokens=tokens, method=method, compare=compare, tree=tree,
                                suffix_len=suffix_len, min_match=min_match, adjacency=adjacency,
                                save_adjacency=save_adjacency, device=device, dtype=dtype, chat=chat)
    except ToksmithError as e:
        raise _fail(e) from None
    if json_out:
        console.print_json(json.dumps(res.to_dict()))
        return
    st = res.result.stats
    sys.stdout.write((res.result.text if chat else prompt + res.result.text) + "\n")
    line = f"{st.method}: {st.new_tokens} tokens, {st.tokens_per_s:.1f} tokens/s, MAT {st.mat:.2f}"
    if res.greedy is not None:
        g = res.greedy.stats
        same = "identical to greedy" if res.identical else "DIFFERS from greedy"
        line += (f"; greedy: {g.tokens_per_s:.1f} tokens/s; speedup {res.speedup:.2f}x; {same}")
    sys.stdout.write(line + "\n")
