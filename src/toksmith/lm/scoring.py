"""Bits per byte: the one quality number comparable across models with different tokenizers.

Each file is encoded whole with the model's canonical encoder and scored with a sliding window: a
window of `window` tokens moves by `stride`; every token is scored once, with at least
`window - stride` tokens of context (all of them in the first window), and every window starts with
the model's BOS. BPB = total negative log2
likelihood of the text's tokens / UTF-8 bytes of the text. The text is conditioned on the model's
document start (see `LM.bos_id`); end-of-text is not scored.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from toksmith import defaults
from toksmith.errors import OptionError
from toksmith.lm.loading import LM, require_torch

__all__ = ["FileScore", "ModelScore", "score_bits_per_byte", "score_files", "score_text", "window_logprobs",
           "window_plan"]


@dataclass
class FileScore:
    """BPB of one file under one model."""

    source: str
    bytes: int
    tokens: int
    nll_bits: float
    seconds: float

    @property
    def bits_per_byte(self) -> float:
        return self.nll_bits / self.bytes if self.bytes else float("nan")

    @property
    def tokens_per_byte(self) -> float:
        return self.tokens / self.bytes if self.bytes else float("nan")


@dataclass
class ModelScore:
    """All files under one model, plus the totals (ratio of sums)."""

    model: str
    window: int
    stride: int
    device: str
    dtype: str
    conditioning: list[str]
    files: list[FileScore] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    @property
    def tokens(self) -> int:
        return sum(f.tokens for f in self.files)

    @property
    def bits_per_byte(self) -> float:
        return sum(f.nll_bits for f in self.files) / self.bytes if self.bytes else float("nan")

    @property
    def seconds(self) -> float:
        return sum(f.seconds for f in self.files)

    def to_dict(self) -> dict:
        return {
            "model": self.model, "window_tokens": self.window, "stride_tokens": self.stride,
            "device": self.device, "dtype": self.dtype, "conditioning": self.conditioning,
            "bits_per_byte": self.bits_per_byte, "tokens_per_byte": self.tokens / self.bytes if self.bytes else None,
            "bytes": self.bytes, "tokens": self.tokens, "seconds": self.seconds,
            "bytes_per_second": self.bytes / self.seconds if self.seconds else None,
            "files": [dict(asdict(f), bits_per_byte=f.bits_per_byte, tokens_per_byte=f.tokens_per_byte)
                      for f in self.files],
        }


def window_plan(n: int, window: int, stride: int) -> list[tuple[int, int, int]]:
    """(lo, hi, first) of every window over a sequence of `n` ids (BOS included): it scores seq[lo + first:hi]
    with seq[lo:lo + first] as context (`window_logprobs`: after BOS). Every token is scored once, with at least
    `window - stride` tokens of context; the byte-level windows (`bridge.batched.byte_windows`) follow it."""
    if not 0 < stride <= window - 1:
        raise OptionError(f"stride must be in 1..window-1 (got window={window}, stride={stride})")
    out = []
    scored_upto, start = 1, False
    while scored_upto < n:
        lo = max(0, scored_upto - (window - stride)) if start else 0
        hi = min(n, lo + window)
        out.append((lo, hi, scored_upto - lo))
        scored_upto, start = hi, True
    return out


def window_logprobs(lm: LM, ids: Sequence[int], first: int, *, restart: bool) -> Any:
    """Natural log-probabilities of one window's scored ids (`ids` = seq[lo:hi], the first `first` context).

    Windows after the first (`restart`) read BOS before their context, as the byte-level windows do
    (`bridge.batched`): without it a window starts mid-document with no BOS, which Gemma 3 reads very differently
    (its token-level BPB on 20 KB of English was 0.045 above its exact byte-level BPB).
    """
    torch = require_torch("scoring in bits per byte")
    read, first = ([lm.bos_id, *ids], first + 1) if restart else (list(ids), first)
    chunk = torch.tensor([read], device=lm.device)
    with torch.inference_mode():
        logp = torch.log_softmax(lm.model(input_ids=chunk).logits[0].double(), dim=-1)
    return logp[first - 1: len(read) - 1].gather(1, chunk[0, first:][:, None])[:, 0]


def score_text(lm: LM, text: str, *, window: int = defaults.WINDOW, stride: int = defaults.STRIDE,
               progress: Callable[[int], None] | None = None,
               token_bits: list[float] | None = None) -> tuple[float, int]:
    """(negative log2-likelihood in bits, token count) of `text` under `lm`, sliding window.

    `progress` is called with the number of tokens scored by each window. `token_bits`, when given,
    is extended with each token's bits in order (for splitting the loss by token, e.g. transplant).
    """
    ids = lm.tokenizer.encode(text)
    seq = [lm.bos_id] + ids
    total = 0.0
    for lo, hi, first in window_plan(len(seq), window, stride):
        got = window_logprobs(lm, seq[lo:hi], first, restart=lo > 0)
        total -= float(got.sum()) / math.log(2)
        if token_bits is not None:
            token_bits.extend((-got / math.log(2)).tolist())
        if progress:
            progress(hi - lo - first)
    return total, len(ids)


def score_files(lm: LM, texts: dict[str, str], *, window: int = defaults.WINDOW, stride: int = defaults.STRIDE,
                progress: Callable[[str, int, int], None] | None = None) -> list[FileScore]:
    """Token-level score of every text under one model: the unit `bridge.api.run_score` (the one scoring
    path, token- and byte-level rows) and `score_bits_per_byte` both run per model.

    `progress` is called as progress(model name, tokens just scored, total tokens of the file).
    """
    out = []
    for src, text in texts.items():
        t0 = time.perf_counter()
        n_tok = len(lm.tokenizer.encode(text)) if progress else 0
        cb = (lambda k, _n=lm.name, _t=n_tok: progress(_n, k, _t)) if progress else None
        bits, ntok = score_text(lm, text, window=window, stride=stride, progress=cb)
        out.append(FileScore(source=src, bytes=len(text.encode("utf-8")), tokens=ntok, nll_bits=bits,
                             seconds=time.perf_counter() - t0))
    return out


def score_bits_per_byte(
    lms: Sequence[LM], paths: Sequence[str | Path], *, window: int = defaults.WINDOW, stride: int = defaults.STRIDE,
    max_bytes: int | None = None, progress: Callable[[str, int, int], None] | None = None,
) -> list[ModelScore]:
    """Bits per byte of every file under every model (files are read whole through `read_corpus`).

    Args:
        max_bytes: score only the first `max_bytes` bytes of each file (cut at a character boundary).
        progress: called as progress(model name, tokens just scored, total tokens of the file).
    """
    from toksmith.corpus import read_files

    texts = read_files(list(paths), max_bytes=max_bytes)
    out = []
    for lm in lms:
        ms = ModelScore(model=lm.name, window=window, stride=stride, device=lm.device, dtype=lm.dtype,
                        conditioning=list(lm.notes))
        ms.files = score_files(lm, texts, window=window, stride=stride, progress=progress)
        out.append(ms)
    return out
