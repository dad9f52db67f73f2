"""`evaluate()`: every metric for several tokenizers over one shared encoding pass, with paired intervals.

Each corpus is streamed ONCE: read and encoded in batches by every tokenizer (`encode_batch`, timed
for the throughput metric), each batch reduced at once to per-document statistics and tallies
(`toksmith.evaluate.stream`), so memory grows with the number of documents and |V|, not with the
corpus bytes. All metrics read those statistics. Strings the metrics probe apart from the corpus
(morphology words, numbers) are encoded in one call per tokenizer, in a background thread while the
corpus is encoded. Intervals come from one vectorised bootstrap over documents (1000 resamples, fixed
seed) shared by all tokenizers, so the difference of two tokenizers' replicates is a paired bootstrap.

The results (`EvalResults`) and their JSON schema are in `toksmith.evaluate.results`; the paired
comparisons in `toksmith.evaluate.compare`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from toksmith import defaults
from toksmith.corpus import Document, crlf_warning
from toksmith.evaluate.bootstrap import (
    MAX_BLOCKS,
    MIN_UNITS,
    RESAMPLES,
    SEED,
    WeightPool,
    bootstrap_ratios,
    percentile_cis,
)
from toksmith.evaluate.catalog import PROBES_OF, select_metrics
from toksmith.evaluate.compare import compare
from toksmith.evaluate.encoded import CHUNK_DOCS, Encoded
from toksmith.evaluate.metric import EvalContext, MetricResult, Probe, run_probes
from toksmith.evaluate.results import EvalResults
from toksmith.evaluate.sharded import SHARD_BYTES, sharded_pass
from toksmith.evaluate.stream import CorpusStats
from toksmith.evaluate.units import UNIT_CAP
from toksmith.io import ensure_dir
from toksmith.tokenizers.base import Tokenizer

__all__ = ["EvalResults", "default_data_dir", "evaluate", "run_eval", "write_results"]

CONTRACT_SPECIAL = (
    "encode() without BOS/EOS; special-token strings in the text are encoded as ordinary text; "
    "special and unused ids decode to nothing"
)
CONTRACT_WORDS = (
    "UAX #29 default word boundaries (numpy implementation, toksmith.evaluate.words); "
    "a word is a segment with a letter or number"
)


def default_data_dir() -> Path | None:
    """Where the MorphScore/SIGMORPHON folders are: $TOKSMITH_SHARED_DATA, ./../shared/data, or None."""
    env = os.environ.get("TOKSMITH_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates += [Path("../shared/data"), Path(__file__).resolve().parents[4] / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


def _fingerprint(obj: Any) -> dict | None:
    fp = getattr(obj, "fingerprint", None)
    if callable(fp):
        try:
            return fp()
        except (OSError, ValueError):
            return None
    return fp if isinstance(fp, dict) else None


def _describe(c: CorpusStats | None, fp: dict | None) -> dict | None:
    if c is None:
        return None
    return {
        "documents": c.n_docs,
        "bytes": int(c.doc_bytes.sum()),
        "chars": int(c.doc_chars.sum()),
        "bootstrap_units": len(c.doc_bytes),
        "documents_per_unit_block": c.granularity,
        "languages": c.lang_names if any(c.lang_names) else [],
        "fingerprint": fp,
    }


def _sample_texts(text: CorpusStats | None, par: CorpusStats | None, pivot: str) -> list[tuple[str | None, str]]:
    """Short texts for the side-by-side viewer: the pivot and diverse scripts, or the first documents."""
    out: list[tuple[str | None, str]] = []
    if par is not None and par.n_docs:
        wanted = [pivot, "jpn", "cmn", "hin", "ara", "rus", "tha", "kor", "deu"]
        langs = [x for x in wanted if x in par.lang_names][:4] or par.lang_names[:4]
        out = [(lang, par.heads[lang][1]) for lang in langs]
    elif text is not None:
        out = [(None, t) for t in text.first_texts]
    return [(lang, t) for lang, t in out if t]


def _token_view(enc: Encoded) -> list[dict[str, list]]:
    """Byte offsets and pieces of every token of the (few) texts of `enc`."""
    corpus = enc.corpus
    ts, te = enc.spans
    out = []
    for d in range(corpus.n_docs):
        lo, hi = int(enc.doc_tok[d]), int(enc.doc_tok[d + 1])
        base = int(corpus.doc_start[d])
        data = corpus.texts[d].encode("utf-8")
        offsets = [
            [int(s) - base, int(e) - base]
            for s, e in zip(ts[lo:hi].tolist(), te[lo:hi].tolist(), strict=True)
        ]
        pieces = [data[s:e].decode("utf-8", "backslashreplace") for s, e in offsets]
        out.append({"offsets": offsets, "pieces": pieces})
    return out


def _ahead(
    tok: Tokenizer,
    probes: list[Probe],
    prepare: list[Callable[[Tokenizer], None]],
    pivot: str,
    data_dir: Path | None,
    weights: WeightPool,
) -> dict[str, Any]:
    """Corpus-independent work for one tokenizer, run while the corpus is encoded: its probes (one
    encode_batch call), vocabulary-only preparation, the resample weights of the probes' groups."""
    ctx = EvalContext(tok, None, None, pivot, data_dir)
    run_probes(ctx, probes)
    for fn in prepare:
        fn(tok)
    for p in probes:
        if p.groups is not None:
            for g, n in p.groups(ctx.cache[p.key]):
                weights.prefetch(g, n)
    return ctx.cache


def _unique_names(toks: Sequence[Tokenizer]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for t in toks:
        base = str(getattr(t, "name", type(t).__name__))
        k = seen.get(base, 0)
        seen[base] = k + 1
        out.append(base if k == 0 else f"{base}#{k + 1}")
    return out


def evaluate(
    tokenizers: Sequence[Tokenizer | str],
    corpus: Iterable[Document] | None = None,
    parallel: Mapping[str, Iterable[Document]] | None = None,
    pivot: str = defaults.PIVOT,
    metrics: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    data_dir: str | Path | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    batch_docs: int = CHUNK_DOCS,
    engine: str = "local",
    shard_bytes: int = SHARD_BYTES,
    unit_cap: int = UNIT_CAP,
) -> EvalResults:
    """Measure `tokenizers` on a corpus and/or a parallel corpus.

    Args:
        tokenizers: `Tokenizer`s or specs for `load_tokenizer` ("smollm2", a tokenizer.json, ...).
        corpus: documents (e.g. `read_corpus(...)`); general metrics run on it.
        parallel: language -> documents (e.g. `read_parallel(dir)`); premiums and Gini run on it, and the
            general metrics too when `corpus` is None. With neither, the built-in demo corpus is used.
        pivot: the language premiums are relative to.
        metrics: metric or family names (`compression`, `numbers`, ...); None = all that apply.
        progress: called with a short description before each step.
        data_dir: folder holding `morphscore/` and `sigmorphon2022/` (default: `default_data_dir()`).
        resamples, seed: the bootstrap's resamples and seed.
        batch_docs: documents per batch (one timed encode_batch call each); memory grows with it, not
            with the corpus.
        engine: "local" or "ray": where the shards of the pass are encoded and reduced (see
            `evaluate.sharded`); both give the same results, timings aside.
        shard_bytes: text bytes per shard (the unit a worker encodes and reduces).
        unit_cap: most bootstrap units kept for `corpus` (`toksmith.evaluate.units`): beyond it
            documents are summed into blocks, so memory stays bounded whatever the corpus size.

    Returns:
        `EvalResults`; `.to_dict()` is the results JSON, `.table()` the terminal table.

    >>> res = evaluate(["smollm2"], metrics=["compression"])  # doctest: +SKIP
    >>> round(res.results["smollm2"]["bytes_per_token"].value, 2)  # doctest: +SKIP
    3.1
    """
    t_start = time.perf_counter()
    say = progress or (lambda _msg: None)
    from toksmith.tokenizers import load_tokenizer

    toks = [load_tokenizer(t) if isinstance(t, (str, Path)) else t for t in tokenizers]
    if not toks:
        from toksmith.errors import ToksmithError

        raise ToksmithError("evaluate needs at least one tokenizer")
    names = _unique_names(toks)
    warnings: list[str] = []
    if corpus is None and parallel is None:
        from toksmith.data import demo_parallel

        parallel = demo_parallel()
        warnings.append("no corpus given: using the built-in demo parallel corpus (too small for claims)")

    chosen = select_metrics(metrics)
    if any(m.name == "gini" for m in chosen) and not any(m.name == "premium" for m in chosen):
        chosen = select_metrics([m.name for m in chosen] + ["premium"])
    if parallel is None:
        dropped = [m.name for m in chosen if m.needs == "parallel"]
        chosen = [m for m in chosen if m.needs != "parallel"]
        if dropped and metrics is not None:
            warnings.append(f"skipped (need --parallel): {', '.join(dropped)}")
    dd = Path(data_dir) if data_dir is not None else default_data_dir()
    stats = {s for m in chosen for s in m.stats}
    probes = list({p.key: p for m in chosen for p in PROBES_OF.get(m.name, ())}.values())
    early = [p for p in probes if not p.after_corpus]
    late = [p for p in probes if p.after_corpus]
    prepare = [m.prepare for m in chosen if m.prepare is not None]

    weights = WeightPool(resamples=resamples, seed=seed)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="toksmith-ahead")

    def prefetch_when_big(group: str, prefetch: bool = True) -> Callable[[int], None]:
        # a group of MAX_BLOCKS+ documents is resampled in MAX_BLOCKS blocks whatever its size
        fired: list[bool] = []

        def on_batch(n: int) -> None:
            say(f"encoding the {group} corpus: {n:,} documents")
            if not prefetch:
                return
            # (a unit cap below 2 x MAX_BLOCKS may leave fewer units than blocks: no prefetch then)
            if n >= MAX_BLOCKS and not fired and unit_cap >= 2 * MAX_BLOCKS:
                fired.append(True)
                pool.submit(weights.prefetch, group, n)

        return on_batch

    try:
        ahead = [pool.submit(_ahead, tok, early, prepare, pivot, dd, weights) for tok in toks]
        t0 = time.perf_counter()
        say("encoding")
        text_c = text_t = par_c = par_t = None
        if corpus is not None:
            text_c, text_t = sharded_pass(
                toks,
                [(None, corpus)],
                name="main",
                stats=stats,
                chunk_docs=batch_docs,
                on_batch=prefetch_when_big("main"),
                engine=engine,
                shard_bytes=shard_bytes,
                unit_cap=unit_cap,
            )
            if text_c.n_docs == 0:
                from toksmith.errors import CorpusError

                raise CorpusError("the corpus holds no text")
        if parallel is not None:
            par_c, par_t = sharded_pass(
                toks,
                [(lang, parallel[lang]) for lang in sorted(parallel)],
                name="parallel",
                stats=stats if corpus is None else (),
                chunk_docs=batch_docs,
                on_batch=prefetch_when_big("parallel", prefetch=corpus is None),
                engine=engine,
                shard_bytes=shard_bytes,
                unit_cap=None,  # the aligned bootstrap draws the same document positions in every language
            )
        encode_s = time.perf_counter() - t0
        main_fp = _fingerprint(corpus) if corpus is not None else None
        par_fp = _fingerprint(parallel) if parallel is not None else None
        warnings.extend(w for w in (crlf_warning(main_fp), crlf_warning(par_fp)) if w)
        general_t = text_t if text_t is not None else par_t

        samples_src = _sample_texts(text_c, par_c, pivot)
        samples: list[dict[str, Any]] = [{"lang": lang, "text": t, "tokens": {}} for lang, t in samples_src]
        results: dict[str, dict[str, MetricResult]] = {}
        tok_info = []
        t0 = time.perf_counter()
        for k, (tok, name) in enumerate(zip(toks, names, strict=True)):
            say(f"metrics for {name}")
            ctx = EvalContext(
                tok,
                general_t[k] if general_t is not None else None,
                par_t[k] if par_t is not None else None,
                pivot,
                dd,
            )
            ctx.cache.update(ahead[k].result())
            views = run_probes(ctx, late, [s["text"] for s in samples])
            for m in chosen:
                ctx.results[m.name] = m(ctx)
            results[name] = ctx.results
            if samples and views is not None:
                for s, v in zip(samples, _token_view(views), strict=True):
                    s["tokens"][name] = v
            v = tok.vocab
            tok_info.append(
                {
                    "name": name,
                    "fingerprint": tok.fingerprint,
                    "vocab_fingerprint": v.fingerprint,
                    "family": v.family,
                    "vocab_size": v.size,
                    "declared_vocab_size": v.declared_size or v.size,
                    "adds_space_prefix": bool(tok.adds_space_prefix),
                }
            )
            del ctx
        metrics_s = time.perf_counter() - t0
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    say("bootstrap")
    t0 = time.perf_counter()
    keys = [(n, m, k) for n in names for m, r in results[n].items() for k in r.ratios]
    reps = bootstrap_ratios(
        [results[n][m].ratios[k] for n, m, k in keys], resamples=resamples, seed=seed, pool=weights
    )
    for (n, m, k), rep, ci in zip(keys, reps, percentile_cis(reps), strict=True):
        r = results[n][m]
        r.replicates[k] = rep
        lang, fld = k
        if lang is None and fld == "value":
            r.ci = ci
        elif lang is not None and r.per_language is not None and lang in r.per_language:
            r.per_language[lang]["ci" if fld == "value" else f"{fld}_ci"] = ci
    for n in names:
        for m in chosen:
            if m.after_bootstrap is not None and m.name in results[n]:
                m.after_bootstrap(results[n][m.name], results[n])
    comparisons = compare(names, results, chosen)
    bootstrap_s = time.perf_counter() - t0
    for n in names:
        for r in results[n].values():
            r.ratios.clear()
    thin = sum(1 for c in comparisons if c["thin"])
    if thin:
        warnings.append(f"{thin} comparison(s) rest on fewer than {MIN_UNITS} units: treat them as anecdotes")

    contract = {
        "special_tokens": CONTRACT_SPECIAL,
        "normalisation": "none: text is measured exactly as read (no Unicode normalisation, no lowercasing)",
        "bytes": "UTF-8 bytes of the text as read",
        "newlines": next((fp["newlines"] for fp in (main_fp, par_fp) if fp and "newlines" in fp), "keep"),
        "word_segmentation": CONTRACT_WORDS,
        "bootstrap": {
            "resamples": resamples,
            "seed": seed,
            "unit": "document (morphology: word; numbers: probe)",
            "interval": "95% percentile",
            "max_blocks": MAX_BLOCKS,
            "paired": True,
        },
        "min_units": MIN_UNITS,
        "pivot": pivot if par_c is not None else None,
        "data_dir": str(dd) if dd is not None else None,
    }
    corpus_info = {"main": _describe(text_c, main_fp), "parallel": _describe(par_c, par_fp)}
    total = time.perf_counter() - t_start
    return EvalResults(
        tok_info,
        chosen,
        results,
        comparisons,
        contract,
        corpus_info,
        samples,
        warnings,
        {"encode_s": encode_s, "metrics_s": metrics_s, "bootstrap_s": bootstrap_s, "total_s": total},
        par_c.lang_names if par_c is not None else [],
    )


def write_results(res: EvalResults, out_dir: str | Path) -> dict[str, Path]:
    """Write results.json and (when the HTML renderer is available) report.html into `out_dir`, atomically."""
    import json

    from toksmith.io import atomic_write_text

    out = Path(out_dir)
    ensure_dir(out)
    data = res.to_dict()
    paths = {
        "json": atomic_write_text(out / "results.json", json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    }
    try:
        from toksmith.report.html import render_report
    except ImportError:
        res.warnings.append("report.html not written: toksmith.report.html is not available")
        return paths
    paths["html"] = atomic_write_text(out / "report.html", render_report(data))
    return paths


def run_eval(
    tokenizers: Sequence[str],
    *,
    corpus: Sequence[str] | None = None,
    parallel: str | Path | None = None,
    pivot: str = defaults.PIVOT,
    out: str | Path = "out/eval",
    metrics: Iterable[str] | None = None,
    errors: str = "strict",
    newlines: str = "keep",
    field: str = "text",
    split: str | None = None,
    revision: str | None = None,
    engine: str = "local",
    progress: Callable[[str], None] | None = None,
) -> tuple[EvalResults, dict[str, Path]]:
    """`toksmith eval` as one call: read the corpora, evaluate, write results.json and report.html.

    Corpora may be `hf:NAME[:CONFIG][@REVISION]` datasets (`split`, `field`); `revision` applies to
    tokenizers given as Hub ids.
    """
    from toksmith.corpus import read_corpus, read_parallel
    from toksmith.tokenizers import load_tokenizer

    toks = [load_tokenizer(t, revision=revision) if isinstance(t, (str, Path)) else t for t in tokenizers]
    main = read_corpus(list(corpus), errors=errors, newlines=newlines, field=field, split=split) if corpus else None
    par = read_parallel(parallel, errors=errors, newlines=newlines, field=field, split=split) if parallel else None
    res = evaluate(toks, main, par, pivot, metrics, progress, engine=engine)
    return res, write_results(res, out)
