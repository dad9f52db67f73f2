"""What `toksmith score` and `toksmith generate` call: one function each.

A model spec is a model (`smollm2`, a .gguf, a transformers directory) or an ensemble of models joined
with `+` (`smollm2+gemma3`). Single models are scored token-level with a sliding window (fast; the
canonical tokenization's probability). Ensembles are scored byte by byte through `ByteLM`, and so are
their members on the same bytes, so the table compares like with like.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from toksmith.errors import ModelLoadError

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


def run_score(
    specs: Sequence[str], corpus: Sequence[str | Path], *, window: int = 1024, stride: int = 512,
    max_bytes: int | None = None, ensemble_max_bytes: int = 2000, mode: str = "mixture",
    weights: Sequence[float] | None = None, device: str | None = None, dtype: str = "float32",
    progress: Callable[[str, int, int], None] | None = None,
) -> ScoreReport:
    """Bits per byte of every model spec on every corpus file.

    Args:
        specs: model specs; `a+b` is an ensemble (mixture or product of next-byte distributions).
        window, stride: sliding window for token-level scoring, in tokens.
        max_bytes: score only the first bytes of each file (token-level scoring).
        ensemble_max_bytes: bytes per file scored byte by byte for ensembles (ByteLM is slow on CPU).
        progress: called as progress(label, done, total).
    """
    from toksmith.bridge.bytelm import ByteLM
    from toksmith.bridge.ensemble import ByteEnsemble
    from toksmith.bridge.generate import score_bytes
    from toksmith.lm.scoring import score_text

    members = {s: parse_model_spec(s) for s in specs}
    lms = _load_all([m for ms in members.values() for m in ms], device, dtype)
    texts = _texts(corpus, max_bytes)
    rep = ScoreReport(contract={
        "unit": "bits per UTF-8 byte of the text (end-of-text not scored)",
        "token_level": f"canonical tokenization, sliding window {window} tokens, stride {stride}",
        "byte_level": "ByteLM exact next-byte distributions over canonical token sequences, normalised",
        "ensemble": {"mode": mode, "weights": list(weights) if weights else "uniform",
                     "bytes_per_file": ensemble_max_bytes},
        "conditioning": {n: lm.notes for n, lm in lms.items()},
        "device": {n: lm.device for n, lm in lms.items()}, "dtype": dtype,
        "max_bytes": max_bytes,
    })
    blms: dict[str, ByteLM] = {}
    for spec, names in members.items():
        for src, data in texts.items():
            if len(names) == 1:
                lm = lms[names[0]]
                t0 = time.perf_counter()
                cb = (lambda k, _s=spec: progress(_s, k, 0)) if progress else None
                bits, ntok = score_text(lm, data.decode("utf-8"), window=window, stride=stride, progress=cb)
                sec = time.perf_counter() - t0
                rep.rows.append({"model": spec, "file": src, "level": "token", "bytes": len(data), "tokens": ntok,
                                 "bits_per_byte": bits / len(data) if data else None,
                                 "tokens_per_byte": ntok / len(data) if data else None,
                                 "seconds": sec, "bytes_per_second": len(data) / sec if sec else None})
                continue
            part = data[:ensemble_max_bytes].decode("utf-8", "ignore").encode("utf-8")
            for n in names:
                blms.setdefault(n, ByteLM(lms[n]))
            ens = ByteEnsemble([blms[n] for n in names], weights=weights, mode=mode)
            for model in [ens] + [blms[n] for n in names]:
                cb = (lambda k, _l=model.name, _t=len(part): progress(_l, k, _t)) if progress else None
                sc = score_bytes(model, part, progress=cb)
                rep.rows.append({"model": model.name, "file": src, "level": "byte", "bytes": sc.bytes,
                                 "tokens": None, "bits_per_byte": sc.bits_per_byte, "tokens_per_byte": None,
                                 "seconds": sc.seconds, "bytes_per_second": sc.bytes_per_second,
                                 "forwards_per_byte": sc.forwards_per_byte})
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
    mode: str = "mixture", weights: Sequence[float] | None = None, device: str | None = None,
    dtype: str = "float32", on_byte: Callable[[int], None] | None = None,
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
