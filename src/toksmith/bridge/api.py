"""What `toksmith score` and `toksmith generate` call: one function each.

A model spec is a model (`smollm2`, a .gguf, a transformers directory) or an ensemble of models joined
with `+` (`smollm2+gemma3`). Single models are scored token-level with a sliding window (fast; the
canonical tokenization's probability), and byte by byte too with `byte_level`. Ensembles are scored
byte by byte through `ByteLM`, and so are their members on the same bytes, so the table compares like
with like.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from toksmith import defaults
from toksmith.engine import ENGINES
from toksmith.errors import ModelLoadError, OptionError

if TYPE_CHECKING:
    from toksmith.bridge.generate import ByteScore
    from toksmith.lm.scoring import FileScore

__all__ = ["GenerateResult", "ScoreReport", "parse_model_spec", "run_generate", "run_score"]


def parse_model_spec(spec: str) -> list[str]:
    """The member models of a spec (`a+b` -> [a, b]); a single model gives a one-element list."""
    parts = [p.strip() for p in spec.split("+")]
    if not all(parts):
        raise ModelLoadError(f"'{spec}': empty model name in an ensemble spec (write a+b)")
    return parts


@dataclass
class ScoreReport:
    """Rows of (model, file, bits per byte, ...) plus the measurement contract."""

    rows: list[dict] = field(default_factory=list)
    contract: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"contract": self.contract, "results": self.rows}


def _load_all(names: Sequence[str], device: str | None, dtype: str) -> dict:
    from toksmith.lm import load_lm

    return {n: load_lm(n, device=device, dtype=dtype) for n in dict.fromkeys(names)}


def _texts(corpus: Sequence[str | Path], max_bytes: int | None) -> dict[str, bytes]:
    from toksmith.corpus import read_files

    return {src: t.encode("utf-8") for src, t in read_files(list(corpus), max_bytes=max_bytes).items()}


def _byte_row(name: str, src: str, sc: ByteScore) -> dict:
    return {"model": name, "file": src, "level": "byte", "bytes": sc.bytes, "tokens": None,
            "bits_per_byte": sc.bits_per_byte, "tokens_per_byte": None, "seconds": sc.seconds,
            "bytes_per_second": sc.bytes_per_second, "forwards_per_byte": sc.forwards_per_byte}


def _token_row(name: str, fs: FileScore) -> dict:
    n = fs.bytes
    return {"model": name, "file": fs.source, "level": "token", "bytes": n, "tokens": fs.tokens,
            "bits_per_byte": fs.bits_per_byte if n else None, "tokens_per_byte": fs.tokens_per_byte if n else None,
            "seconds": fs.seconds, "bytes_per_second": n / fs.seconds if fs.seconds else None}


def run_score(
    specs: Sequence[str], corpus: Sequence[str | Path], *, window: int = defaults.WINDOW,
    stride: int = defaults.STRIDE, max_bytes: int | None = None, byte_level: bool = False,
    byte_max_bytes: int | None = defaults.BYTE_LEVEL_MAX_BYTES, mode: str = defaults.ENSEMBLE_MODE,
    weights: Sequence[float] | None = None, device: str | None = None, dtype: str = defaults.DTYPE,
    progress: Callable[[str, int, int], None] | None = None, engine: str = "local",
) -> ScoreReport:
    """Bits per byte of every model spec on every corpus file: the one scoring path.

    Token-level rows (the canonical tokenization, sliding window) and byte-level rows (`ByteLM`, exact
    next-byte distributions) come from here. Models are loaded, scored and freed one at a time, so
    memory is that of the largest model, not the sum; an ensemble `a+b` is combined afterwards from
    its members' per-byte distributions (the mixture or product of next-byte distributions).

    Args:
        specs: model specs; `a+b` is an ensemble, scored byte by byte with its members.
        window, stride: sliding window for token-level scoring, in tokens.
        max_bytes: score only the first bytes of each file (every level).
        byte_level: also score single models byte by byte.
        byte_max_bytes: bytes per file scored byte by byte (default `defaults.BYTE_LEVEL_MAX_BYTES`; None: the
            whole file). Byte-level scoring is `ByteLM.score`: batched forwards, the same `window` and
            `stride` as token level (each window reads BOS and its context tokens, see `bridge.batched`).
        progress: called as progress(label, done, total).
        engine: "local", or "ray": token-level windows of single models are spread over Ray workers
            (one GPU each when the cluster has GPUs; see `lm.sharded`), BPB equal to local within
            1e-6; byte-level rows and ensembles run here.
    """
    import gc

    from toksmith.bridge.bytelm import ByteLM
    from toksmith.bridge.ensemble import combine_logprobs, ensemble_weights
    from toksmith.bridge.generate import ByteScore, score_bytes
    from toksmith.lm import load_lm
    from toksmith.lm.scoring import score_files

    members = {s: parse_model_spec(s) for s in specs}
    ens_w = {s: ensemble_weights(len(ms), weights, mode) for s, ms in members.items() if len(ms) > 1}
    texts = _texts(corpus, max_bytes)
    parts = {src: (d if byte_max_bytes is None else d[:byte_max_bytes].decode("utf-8", "ignore").encode("utf-8"))
             for src, d in texts.items()}
    names = list(dict.fromkeys(n for ms in members.values() for n in ms))
    want_token = {ms[0] for ms in members.values() if len(ms) == 1}
    want_byte = {n for ms in members.values() if len(ms) > 1 or byte_level for n in ms}
    token_rows: dict[tuple[str, str], dict] = {}
    byte_scores: dict[tuple[str, str], ByteScore] = {}
    notes, devices = {}, {}
    if engine not in ENGINES:
        raise OptionError(f"unknown engine '{engine}' (choose from: {', '.join(ENGINES)})")
    for name in names:  # one model in memory at a time
        if engine == "ray" and name in want_token and name not in want_byte:
            from toksmith.lm.sharded import score_files_sharded

            scores, devices[name], notes[name] = score_files_sharded(
                name, {src: d.decode("utf-8") for src, d in texts.items()}, window=window, stride=stride,
                device=device, dtype=dtype, progress=progress)
            for fs in scores:
                token_rows[(name, fs.source)] = _token_row(name, fs)
            continue
        lm = load_lm(name, device=device, dtype=dtype)
        notes[name], devices[name] = lm.notes, lm.device
        if name in want_token:
            for fs in score_files(lm, {src: d.decode("utf-8") for src, d in texts.items()}, window=window,
                                  stride=stride, progress=progress):
                token_rows[(name, fs.source)] = _token_row(name, fs)
        if name in want_byte:
            blm = ByteLM(lm)
            for src, part in parts.items():
                cb = (lambda k, _l=blm.name, _t=len(part): progress(_l, k, _t)) if progress else None
                byte_scores[(name, src)] = score_bytes(blm, part, progress=cb, keep_distributions=True,
                                                       window=window, stride=stride)
            del blm
        del lm
        gc.collect()
    rep = ScoreReport(contract={
        "unit": "bits per UTF-8 byte of the text (end-of-text not scored)",
        "token_level": f"canonical tokenization, sliding window {window} tokens, stride {stride}",
        "byte_level": "ByteLM exact next-byte distributions over canonical token sequences, normalised; "
                      f"windows of {window} tokens sliding by {stride} over the canonical encoding, each reading BOS "
                      "and its context's canonical tokens, then every tokenization of the bytes it scores",
        "ensemble": {"mode": mode, "weights": list(weights) if weights else "uniform",
                     "bytes_per_file": byte_max_bytes},
        "conditioning": notes, "device": devices, "dtype": dtype, "max_bytes": max_bytes,
        "models_in_memory": "one at a time",
    })
    for spec, ms in members.items():
        for src in texts:
            if len(ms) == 1:
                rep.rows.append(token_rows[(ms[0], src)])
                if byte_level:
                    rep.rows.append(_byte_row(ms[0], src, byte_scores[(ms[0], src)]))
                continue
            scs = [byte_scores[(n, src)] for n in ms]
            data = parts[src]
            ens = ByteScore(model=f"{mode}(" + "+".join(sc.model for sc in scs) + ")", bytes=len(data),
                            logprobs=[], log_unnormalised=[], end_logprob=None,
                            forwards=sum(sc.forwards for sc in scs), seconds=sum(sc.seconds for sc in scs))
            if data:
                lp = combine_logprobs(np.stack([sc.distributions for sc in scs]), ens_w[spec], mode)
                ens.logprobs = lp[np.arange(len(data)), np.frombuffer(data, dtype=np.uint8)].tolist()
            rep.rows.append(_byte_row(ens.model, src, ens))
            rep.rows.extend(_byte_row(sc.model, src, sc) for sc in scs)
    return rep


@dataclass
class GenerateResult:
    model: str
    prompt: bytes
    output: bytes
    seconds: float

    def to_dict(self) -> dict:
        return {"model": self.model, "prompt": self.prompt.decode("utf-8", "replace"),
                "output": self.output.decode("utf-8", "replace"), "output_bytes_hex": self.output.hex(),
                "seconds": self.seconds}


def run_generate(
    spec: str, prompt: str, *, max_bytes: int = 64, temperature: float = 0.0, seed: int = 0,
    mode: str = defaults.ENSEMBLE_MODE, weights: Sequence[float] | None = None, device: str | None = None,
    dtype: str = defaults.DTYPE, on_byte: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Byte-level generation after `prompt` (which may end inside a word or token)."""
    from toksmith.bridge.bytelm import ByteLM
    from toksmith.bridge.ensemble import ByteEnsemble
    from toksmith.bridge.generate import generate_bytes

    names = parse_model_spec(spec)
    lms = _load_all(names, device, dtype)
    blms = [ByteLM(lms[n]) for n in names]
    model = blms[0] if len(blms) == 1 else ByteEnsemble(blms, weights=weights, mode=mode)
    t0 = time.perf_counter()
    out = generate_bytes(model, prompt.encode("utf-8"), max_bytes=max_bytes, temperature=temperature, seed=seed,
                         on_byte=on_byte)
    return GenerateResult(model=model.name, prompt=prompt.encode("utf-8"), output=out,
                          seconds=time.perf_counter() - t0)
