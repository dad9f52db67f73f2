"""Evaluating transplants in bits per byte, side by side, with paired-bootstrap intervals over documents.

Each file is scored whole by `toksmith.lm.score_text` (sliding window), keeping every token's bits; a
token's bits go to the document (paragraph, or line where a file has too few paragraphs) holding its
first byte. A row's BPB is sum(bits) / sum(bytes); its 95% interval and the interval of its difference
from the original come from the same document resamples (`evaluate.bootstrap`), so the differences are
paired. For transplanted rows the loss is also split by the bytes covered by copied tokens versus new
(initialised) tokens.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from toksmith import defaults
from toksmith.evaluate.bootstrap import MIN_UNITS, Ratio, bootstrap_ratios, percentile_cis
from toksmith.lm.loading import LM
from toksmith.lm.scoring import score_text
from toksmith.transplant.api import TransplantResult

__all__ = ["EvalRow", "TransplantEval", "evaluate_transplant"]

_PARAGRAPH = re.compile(rb"\n[ \t]*\n")


def _doc_starts(data: bytes) -> np.ndarray:
    """Byte offsets where documents start: paragraphs, or lines when there are fewer than MIN_UNITS."""
    starts = [0] + [m.end() for m in _PARAGRAPH.finditer(data)]
    if len(starts) < MIN_UNITS:
        starts = [0] + [m.end() for m in re.finditer(rb"\n", data)]
    starts = sorted({s for s in starts if s < len(data)} | {0})
    return np.asarray(starts, dtype=np.int64)


@dataclass
class EvalRow:
    """One model's bits per byte on the held-out text."""

    name: str
    method: str
    bits_per_byte: float
    ci: list[float] | None
    delta: float
    delta_ci: list[float] | None
    tokens: int
    copied: int | None = None
    vocab_size: int | None = None
    bpb_copied: float | None = None
    bpb_new: float | None = None
    bytes_new: int = 0
    new_tokens_used: int = 0


@dataclass
class TransplantEval:
    """The side-by-side table; `rows[0]` is the original model on its own tokenizer."""

    rows: list[EvalRow]
    files: list[str]
    bytes: int
    documents: int
    window: int
    stride: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"files": self.files, "bytes": self.bytes, "documents": self.documents, "window_tokens": self.window,
                "stride_tokens": self.stride, "seconds": self.seconds, "notes": self.notes,
                "rows": [r.__dict__ for r in self.rows]}

    def table(self) -> str:
        """Plain-text table (the CLI renders the same rows with rich)."""
        head = f"{'model':<34} {'BPB':>7} {'95% CI':>17} {'vs original':>12} {'copied':>14} {'BPB new':>8}"
        lines = [head]
        for r in self.rows:
            ci = f"[{r.ci[0]:.4f}, {r.ci[1]:.4f}]" if r.ci else "-"
            d = f"{r.delta:+.4f}" if r.method != "original" else ""
            cp = f"{r.copied}/{r.vocab_size}" if r.copied is not None else ""
            bn = f"{r.bpb_new:.3f}" if r.bpb_new is not None else ""
            lines.append(f"{r.name:<34} {r.bits_per_byte:>7.4f} {ci:>17} {d:>12} {cp:>14} {bn:>8}")
        return "\n".join(lines)


def _score(lm: LM, texts: dict[str, str], window: int, stride: int,
           progress: Callable[[str, int, int], None] | None, label: str) -> list[tuple[list[int], list[float]]]:
    out = []
    for text in texts.values():
        bits: list[float] = []
        ids = lm.tokenizer.encode(text)
        done = [0]

        def tick(k: int, _n: int = len(ids), _d: list[int] = done) -> None:
            _d[0] += k
            if progress:
                progress(label, _d[0], _n)

        score_text(lm, text, window=window, stride=stride, token_bits=bits, progress=tick)
        out.append((ids, bits))
    return out


def evaluate_transplant(original: LM, results: Sequence[TransplantResult], paths: Sequence[str | Path], *,
                        window: int = defaults.WINDOW, stride: int = defaults.STRIDE, max_bytes: int | None = None,
                        progress: Callable[[str, int, int], None] | None = None) -> TransplantEval:
    """BPB of `original` and every transplanted model on the files, with paired-bootstrap CIs.

    Args:
        original: the base model on its own tokenizer (row 0).
        results: transplants of it (one row each, in order).
        paths: held-out text files (read whole, `toksmith.corpus.read_files`).
        max_bytes: score only the first N bytes of each file.
    """
    from toksmith.corpus import read_files

    t0 = time.perf_counter()
    texts = read_files(list(paths), max_bytes=max_bytes)
    datas = [t.encode("utf-8") for t in texts.values()]
    starts = [_doc_starts(d) for d in datas]
    doc_bytes = np.concatenate([np.diff(np.append(s, len(d))) for s, d in zip(starts, datas, strict=True)])
    n_docs = len(doc_bytes)
    entries: list[tuple[str, str, LM, TransplantResult | None]] = [
        (original.name, "original", original, None)] + [(f"{r.method}" + (f" (k={r.options['k']})" if "k" in
                                                          r.options else ""), r.method, r.lm, r) for r in results]
    per_doc: list[np.ndarray] = []
    rows: list[EvalRow] = []
    for name, method, lm, res in entries:
        scored = _score(lm, texts, window, stride, progress, name)
        doc_bits = []
        copied_bits = new_bits = 0.0
        new_bytes = used = 0
        table = lm.tokenizer.vocab.decode_table
        for (ids, bits), s in zip(scored, starts, strict=True):
            lens = np.fromiter((len(table[i]) for i in ids), dtype=np.int64, count=len(ids))
            offs = np.concatenate([[0], np.cumsum(lens)[:-1]]) if len(ids) else np.zeros(0, dtype=np.int64)
            b = np.asarray(bits, dtype=np.float64)
            doc = np.searchsorted(s, offs, side="right") - 1
            doc_bits.append(np.bincount(doc, weights=b, minlength=len(s)))
            if res is not None:
                is_new = res.source[np.asarray(ids, dtype=np.int64)] < 0 if ids else np.zeros(0, dtype=bool)
                new_bits += float(b[is_new].sum())
                copied_bits += float(b[~is_new].sum())
                new_bytes += int(lens[is_new].sum())
                used += len(set(np.asarray(ids)[is_new].tolist()))
        bits_doc = np.concatenate(doc_bits)
        per_doc.append(bits_doc)
        total_bytes = int(doc_bytes.sum())
        row = EvalRow(name=name, method=method, bits_per_byte=float(bits_doc.sum()) / total_bytes, ci=None,
                      delta=0.0, delta_ci=None, tokens=sum(len(i) for i, _ in scored))
        if res is not None:
            row.copied, row.vocab_size = res.copied, res.lm.tokenizer.vocab.size
            row.bytes_new, row.new_tokens_used = new_bytes, used
            row.bpb_copied = copied_bits / (total_bytes - new_bytes) if total_bytes > new_bytes else None
            row.bpb_new = new_bits / new_bytes if new_bytes else None
        rows.append(row)
    ratios = [Ratio.of("docs", b, doc_bytes) for b in per_doc]
    reps = bootstrap_ratios(ratios)
    cis = percentile_cis(reps)
    deltas = percentile_cis([r - reps[0] for r in reps])
    for row, ci, dci in zip(rows, cis, deltas, strict=True):
        row.ci = ci
        row.delta = row.bits_per_byte - rows[0].bits_per_byte
        row.delta_ci = dci if row.method != "original" else None
    notes = [f"{n_docs} documents: fewer than {MIN_UNITS}, intervals are unreliable"] if n_docs < MIN_UNITS else []
    return TransplantEval(rows=rows, files=list(texts), bytes=int(doc_bytes.sum()), documents=n_docs, window=window,
                          stride=stride, seconds=time.perf_counter() - t0, notes=notes)
