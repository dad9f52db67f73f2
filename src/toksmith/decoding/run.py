"""One call behind `toksmith generate --speculate`: load a model, decode, optionally compare with greedy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from toksmith import defaults
from toksmith.decoding.adjacency import AdjacencyMatrix
from toksmith.decoding.api import METHODS, DecodeResult, generate
from toksmith.decoding.chat import chat_ids, stop_ids
from toksmith.errors import OptionError

__all__ = ["SpeculateResult", "speculate"]


@dataclass
class SpeculateResult:
    """A decoding run and, when compared, plain greedy's run of the same prompt."""

    result: DecodeResult
    greedy: DecodeResult | None = None

    @property
    def identical(self) -> bool | None:
        return None if self.greedy is None else self.result.ids == self.greedy.ids

    @property
    def speedup(self) -> float | None:
        if self.greedy is None:
            return None
        return self.result.stats.tokens_per_s / self.greedy.stats.tokens_per_s

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.result.text, "ids": self.result.ids,
                               "stats": asdict(self.result.stats)}
        if self.greedy is not None:
            out["greedy"] = {"ids": self.greedy.ids, "stats": asdict(self.greedy.stats)}
            out["identical"] = self.identical
            out["speedup"] = self.speedup
        return out


def speculate(model: str, prompt: str, *, max_new_tokens: int, method: str, compare: bool = False,
              tree: str | Sequence[int] | None = None, suffix_len: int | None = None,
              min_match: int | None = None, adjacency: str | Path | None = None,
              save_adjacency: str | Path | None = None, device: str | None = None,
              dtype: str = defaults.DTYPE, chat: bool = False) -> SpeculateResult:
    """Load `model`, decode `prompt` with `method` and, if `compare`, with plain greedy too.

    `adjacency` hot-starts M from a file written earlier with `save_adjacency` (same model).
    `chat` sends `prompt` as a user turn in the model's chat template and stops at the end of the reply
    (`toksmith.decoding.chat`); the texts then hold the reply (its end token, a special one, decodes to nothing).
    Greedy runs first when compared, so both runs find the machine equally warm.
    """
    from toksmith.lm import load_lm

    if method not in METHODS:
        raise OptionError(f"--speculate '{method}' is not known (choose from {', '.join(METHODS)})")
    if max_new_tokens < 1:
        raise OptionError(f"--tokens must be at least 1, got {max_new_tokens}")
    if min_match is not None and min_match < 1:
        raise OptionError(f"--min-match must be at least 1, got {min_match}")
    lm = load_lm(model, device=device, dtype=dtype)
    m = None
    if adjacency is not None:
        m = AdjacencyMatrix.load(adjacency, vocab_size=lm.vocab_size, model=lm.name)
    elif save_adjacency is not None:
        m = AdjacencyMatrix(lm.vocab_size, model=lm.name)
    if save_adjacency is not None and method not in ("recycle", "hybrid"):
        raise OptionError(f"--save-adjacency needs --speculate recycle or hybrid, not {method}")
    text: str | list[int] = prompt
    stops = None
    if chat:
        text, stops = chat_ids(lm, prompt), stop_ids(lm)
    greedy = None
    if compare:
        generate(lm, text, max_new_tokens=min(4, max_new_tokens), eos_ids=stops)  # warm-up
        greedy = generate(lm, text, max_new_tokens=max_new_tokens, method="greedy", eos_ids=stops)
    res = generate(lm, text, max_new_tokens=max_new_tokens, method=method, tree=tree, suffix_len=suffix_len,
                   min_match=min_match, adjacency=m, eos_ids=stops)
    if save_adjacency is not None and m is not None:
        m.save(save_adjacency)
    return SpeculateResult(res, greedy)
