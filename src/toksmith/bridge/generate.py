"""Byte-level use of a ByteLM (or ensemble): scoring texts in bits per byte and generating bytes."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from toksmith import defaults
from toksmith.bridge.bytelm import EOT, ByteDistribution

__all__ = ["ByteModel", "ByteScore", "generate_bytes", "score_bytes"]


class _State(Protocol):
    def distribution(self) -> ByteDistribution: ...
    def advance(self, byte: int) -> None: ...
    def propose(self) -> bytes: ...
    def prepare(self, draft: bytes) -> None: ...
    @property
    def forwards(self) -> int: ...


class ByteModel(Protocol):
    """Anything with `name` and `start(prompt) -> state` (a `ByteLM` or a `ByteEnsemble`)."""

    name: str

    def start(self, prompt: bytes = b"") -> _State: ...


@dataclass
class ByteScore:
    """Per-byte log-probabilities of a text under a byte model."""

    model: str
    bytes: int
    logprobs: list[float]
    log_unnormalised: list[float]
    end_logprob: float | None
    normalisers: list[float] = field(default_factory=list)
    forwards: int = 0
    #: token positions the forwards evaluated (tree nodes, BOS included; 0 where not counted)
    positions: int = 0
    seconds: float = 0.0
    #: shape (bytes, 257) normalised log-probabilities of every position (kept on request: ensembles)
    distributions: np.ndarray | None = None
    #: shape (257,) the distribution after the whole text (kept with `distributions` and `with_end`)
    end_distribution: np.ndarray | None = None

    @property
    def bits_per_byte(self) -> float:
        """-sum log2 P(x_i | x_<i) / n over the text's bytes (end-of-text not included)."""
        return -sum(self.logprobs) / math.log(2) / self.bytes if self.bytes else float("nan")

    @property
    def forwards_per_byte(self) -> float:
        return self.forwards / self.bytes if self.bytes else float("nan")

    @property
    def bytes_per_second(self) -> float:
        return self.bytes / self.seconds if self.seconds else float("nan")


def score_bytes(model: ByteModel, text: bytes, *, prompt: bytes = b"", with_end: bool = False,
                progress: Callable[[int], None] | None = None, keep_distributions: bool = False,
                incremental: bool = False, window: int = defaults.WINDOW,
                stride: int = defaults.STRIDE) -> ByteScore:
    """Log-probability of every byte of `text` after `prompt` (and of end-of-text if `with_end`).

    Models with a batched `score` (`ByteLM`, `ByteEnsemble`) use it: a few large tree-attention
    forwards per window of `window` tokens sliding by `stride` (see `bridge.batched`).
    `incremental=True` advances a state byte by byte instead (one forward per byte, no window: the
    reference the batched path is tested against). `keep_distributions` also keeps every position's
    257 log-probabilities (for combining models that were scored one at a time, see
    `ensemble.combine_logprobs`).
    """
    if not incremental and hasattr(model, "score"):
        return model.score(text, prompt=prompt, window=window, stride=stride, with_end=with_end,
                           keep_distributions=keep_distributions, progress=progress)
    t0 = time.perf_counter()
    st = model.start(prompt)
    f0 = st.forwards
    lps, uns, norms = [], [], []
    dists: list[np.ndarray] = []
    for b in text:
        d = st.distribution()
        if keep_distributions:
            dists.append(d.logprobs)
        lps.append(float(d.logprobs[b]))
        uns.append(float(d.log_unnormalised[b]))
        norms.append(d.normaliser)
        st.advance(b)
        if progress:
            progress(1)
    end = end_dist = None
    if with_end:
        d = st.distribution()
        end = float(d.logprobs[EOT])
        end_dist = d.logprobs if keep_distributions else None
        uns.append(float(d.log_unnormalised[EOT]))
        norms.append(d.normaliser)
    return ByteScore(model=model.name, bytes=len(text), logprobs=lps, log_unnormalised=uns, end_logprob=end,
                     normalisers=norms, forwards=st.forwards - f0, seconds=time.perf_counter() - t0,
                     distributions=np.stack(dists) if keep_distributions and dists else None,
                     end_distribution=end_dist)


def generate_bytes(model: ByteModel, prompt: bytes, *, max_bytes: int = 64, temperature: float = 0.0,
                   seed: int = 0, stop_at_end: bool = True, speculate: bool = True,
                   on_byte: Callable[[int], None] | None = None, stats: dict[str, float] | None = None) -> bytes:
    """Generate bytes after `prompt`: greedy when temperature is 0, else sampled at that temperature.

    The prompt may end anywhere (inside a word, a token or a UTF-8 character): the byte-level
    conditional covers every tokenization that continues it. Stops at end-of-text or `max_bytes`.

    With `speculate` (the default) the state guesses the next bytes (the rest of the most probable
    token in the cover) and runs the nodes they need in one forward before they are chosen, so a
    forward serves several bytes; each byte is still chosen from its exact distribution, so the output
    is byte for byte that of `speculate=False` (one forward per byte). Sampling inverts the CDF at one
    uniform draw per byte, the same draws either way. `stats`, if given, receives the forwards run
    for the prompt and for the generated bytes.
    """
    rng = np.random.default_rng(seed)
    st = model.start(prompt)
    f0 = st.forwards
    out = bytearray()
    draft = b""
    while len(out) < max_bytes:
        if speculate and not draft:
            draft = st.propose()[: max_bytes - len(out)]
            st.prepare(draft)
        lp = st.distribution().logprobs
        b = _choose(lp, temperature, rng)
        if b == EOT:
            if stop_at_end:
                break
            b = int(np.argmax(lp[:256]))
        draft = draft[1:] if draft[:1] == bytes([b]) else b""
        out.append(b)
        if on_byte:
            on_byte(b)
        st.advance(b)
    if stats is not None:
        stats.update(prompt_forwards=f0, forwards=st.forwards - f0, bytes=len(out))
    return bytes(out)


def _choose(lp: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """The argmax (temperature 0) or a draw at `temperature` by inverting the CDF at one uniform."""
    if temperature <= 0:
        return int(np.argmax(lp))
    z = lp / temperature
    p = np.exp(z - z.max())
    c = np.cumsum(p)
    return min(int(np.searchsorted(c, rng.random() * c[-1], side="right")), len(lp) - 1)
