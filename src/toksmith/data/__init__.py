"""Data shipped with toksmith: a small built-in parallel corpus for demos and smoke tests.

The demo corpus is the same 17 lines (prose, long numbers, decimals, dates, times, prices, a phone
number, an e-mail address, a line of code) in 14 languages and 9 scripts, written for toksmith:
ara, cmn, deu, ell, eng, fin, fra, hin, jpn, kor, rus, spa, swh, tur. Line n of every file says the
same thing, so it works as a (tiny) parallel corpus for premiums; it is far too small for claims
about any language, and reports built on it say so through their sample-size warnings.
"""

from __future__ import annotations

from pathlib import Path

from toksmith.corpus import ParallelCorpus, read_parallel

__all__ = ["DEMO_LANGUAGES", "demo_parallel", "demo_parallel_dir"]

#: ISO 639-3 codes of the demo corpus, sorted.
DEMO_LANGUAGES = (
    "ara",
    "cmn",
    "deu",
    "ell",
    "eng",
    "fin",
    "fra",
    "hin",
    "jpn",
    "kor",
    "rus",
    "spa",
    "swh",
    "tur",
)


def demo_parallel_dir() -> Path:
    """The directory of the built-in parallel demo corpus (one `<lang>.txt` per language).

    >>> sorted(p.stem for p in demo_parallel_dir().glob("*.txt"))[:3]
    ['ara', 'cmn', 'deu']
    """
    return Path(__file__).resolve().parent / "demo"


def demo_parallel(languages: tuple[str, ...] | list[str] | None = None) -> ParallelCorpus:
    """The built-in parallel demo corpus, optionally restricted to some `languages`.

    >>> corpus = demo_parallel(["eng", "jpn"])
    >>> sorted(corpus), sum(1 for _ in corpus["eng"])
    (['eng', 'jpn'], 17)
    """
    return read_parallel(demo_parallel_dir(), languages=languages)
