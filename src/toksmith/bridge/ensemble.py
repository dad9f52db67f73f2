"""Ensembles of byte-level models with different tokenizers: mixture and (normalised) product."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from toksmith import defaults
from toksmith.bridge.bytelm import EOT, ByteDistribution, ByteLM, ByteState
from toksmith.errors import OptionError

if TYPE_CHECKING:
    from toksmith.bridge.generate import ByteScore

__all__ = ["ByteEnsemble", "EnsembleState", "combine_logprobs"]


def _lse(a: np.ndarray, axis: int = 0) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def ensemble_weights(n: int, weights: Sequence[float] | None, mode: str) -> np.ndarray:
    """Normalised weights (uniform by default); bad values are an `OptionError`."""
    if mode not in defaults.ENSEMBLE_MODES:
        raise OptionError(f"ensemble mode must be 'mixture' or 'product', not '{mode}'")
    w = np.asarray(weights if weights is not None else [1.0] * n, dtype=np.float64)
    if len(w) != n or (w < 0).any() or w.sum() <= 0:
        raise OptionError("ensemble weights must be non-negative, one per model, not all zero")
    return w / w.sum()


def combine_logprobs(lp: np.ndarray, w: np.ndarray, mode: str) -> np.ndarray:
    """Combine members' normalised log-probabilities, shape (members, ..., 257) -> (..., 257).

    mixture: log sum_i w_i P_i; product: sum_i w_i log P_i, renormalised over the 257 outcomes.
    """
    with np.errstate(divide="ignore"):
        logw = np.log(w).reshape((-1,) + (1,) * (lp.ndim - 1))
    if mode == "mixture":
        return _lse(lp + logw, axis=0)
    safe = np.where(np.isfinite(lp), lp, -1e300)
    s = (safe * w.reshape(logw.shape)).sum(axis=0)
    s = np.where(s < -1e299, -np.inf, s)
    return s - _lse(s, axis=-1)[..., None]


@dataclass
class ByteEnsemble:
    """Several `ByteLM`s combined byte by byte.

    mode "mixture": P(b) = sum_i w_i P_i(b); mode "product": P(b) proportional to prod_i P_i(b)^w_i,
    renormalised over the 257 outcomes. Weights default to uniform (they are normalised to sum 1).
    """

    members: Sequence[ByteLM]
    weights: Sequence[float] | None = None
    mode: str = defaults.ENSEMBLE_MODE

    def __post_init__(self) -> None:
        self.w = ensemble_weights(len(self.members), self.weights, self.mode)

    @property
    def name(self) -> str:
        return f"{self.mode}(" + "+".join(m.name for m in self.members) + ")"

    def start(self, prompt: bytes = b"") -> EnsembleState:
        return EnsembleState(self, [m.start(prompt) for m in self.members])

    def score(self, text: bytes, *, prompt: bytes = b"", window: int = defaults.WINDOW,
              stride: int = defaults.STRIDE, with_end: bool = False, keep_distributions: bool = False,
              progress: Callable[[int], None] | None = None) -> ByteScore:
        """Per-byte log-probabilities of a known text: each member's batched `ByteLM.score`, combined."""
        from toksmith.bridge.generate import ByteScore

        scs = [m.score(text, prompt=prompt, window=window, stride=stride, with_end=with_end,
                       keep_distributions=True, progress=progress) for m in self.members]
        out = ByteScore(model=self.name, bytes=len(text), logprobs=[], log_unnormalised=[], end_logprob=None,
                        forwards=sum(s.forwards for s in scs), seconds=sum(s.seconds for s in scs))
        rows = [np.stack([s.distributions for s in scs])] if text else []
        if with_end:
            rows.append(np.stack([s.end_distribution for s in scs])[:, None])
        lp = combine_logprobs(np.concatenate(rows, axis=1), self.w, self.mode) if rows else np.zeros((0, 257))
        got = lp[np.arange(len(text)), np.frombuffer(text, dtype=np.uint8)]
        out.logprobs = got.tolist()
        out.log_unnormalised = got.tolist() + ([float(lp[-1, EOT])] if with_end else [])
        out.normalisers = np.mean([s.normalisers for s in scs], axis=0).tolist()
        if with_end:
            out.end_logprob = float(lp[-1, EOT])
        if keep_distributions:
            out.distributions = lp[: len(text)] if text else None
            out.end_distribution = lp[-1] if with_end else None
        return out

    def combine(self, dists: Sequence[ByteDistribution]) -> np.ndarray:
        """Shape (257,) normalised log-probabilities from the members' distributions."""
        return combine_logprobs(np.stack([d.logprobs for d in dists]), self.w, self.mode)


@dataclass
class EnsembleState:
    ens: ByteEnsemble
    states: list[ByteState]

    def distribution(self) -> ByteDistribution:
        dists = [s.distribution() for s in self.states]
        lp = self.ens.combine(dists)
        return ByteDistribution(logprobs=lp, log_unnormalised=lp, log_mass=math.nan,
                                normaliser=float(np.mean([d.normaliser for d in dists])))

    def advance(self, byte: int) -> None:
        for s in self.states:
            s.advance(byte)

    def propose(self) -> bytes:
        """The draft of the member with the largest weight (see `ByteState.propose`)."""
        return self.states[int(np.argmax(self.ens.w))].propose()

    def prepare(self, draft: bytes) -> None:
        for s in self.states:
            s.prepare(draft)

    @property
    def forwards(self) -> int:
        return sum(s.forwards for s in self.states)


