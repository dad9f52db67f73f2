"""`--engine ray` for eval: the shards reduced on Ray workers merge into the local results.json exactly.

Timings aside: the `timing` block, and `encode_throughput` (a measured speed) with its comparisons.
Everything else, bootstrap intervals and comparisons included, must be equal value for value.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from toksmith.corpus import read_parallel
from toksmith.evaluate import evaluate
from toksmith.evaluate.sharded import shard_documents

runner = CliRunner()


def _timeless(d: dict) -> dict:
    d = json.loads(json.dumps(d))
    d.pop("timing")
    for per_tok in d["results"].values():
        per_tok.pop("encode_throughput", None)
    d["comparisons"] = [c for c in d["comparisons"] if c["metric"] != "encode_throughput"]
    return d


def test_shards_cut_every_document_once(shared_data):
    par = read_parallel(shared_data / "udhr", languages=["eng", "deu", "fra", "rus"])
    sources = [(lang, par[lang]) for lang in sorted(par)]
    shards = list(shard_documents(sources, 20_000))
    flat = [p for sh in shards for p in sh]
    assert flat == [(d.text, lang) for lang, c in sources for d in c if d.text]
    sizes = [sum(len(t.encode()) for t, _ in sh) for sh in shards]
    assert len(shards) > 3 and all(s >= 20_000 for s in sizes[:-1])


def test_ray_eval_equals_local_on_many_shards(local_ray, smollm2, gemma3, shared_data, tmp_path):
    langs = sorted({p.stem for p in (shared_data / "udhr").glob("*.txt")} - {"eng"})[::8] + ["eng"]
    par = read_parallel(shared_data / "udhr", languages=langs)
    kw = {"data_dir": tmp_path, "shard_bytes": 60_000, "metrics": None}
    local = evaluate([smollm2, gemma3], None, par, "eng", **kw).to_dict()
    on_ray = evaluate([smollm2, gemma3], None, par, "eng", engine="ray", **kw).to_dict()
    assert local["corpus"]["parallel"]["documents"] > 1000
    assert _timeless(on_ray) == _timeless(local)


@pytest.mark.slow
def test_cli_eval_parallel_udhr_ray_writes_the_local_results(local_ray, shared_data, tmp_path):
    """The issue's own command, with and without --engine ray (6.2 MB: three 2 MB shards)."""
    from toksmith.cli import app

    out = {}
    for engine in ("local", "ray"):
        res = runner.invoke(app, ["eval", "smollm2", "gemma3", "--parallel", str(shared_data / "udhr"),
                                  "--engine", engine, "--out", str(tmp_path / engine), "--quiet"])
        assert res.exit_code == 0, res.output
        out[engine] = json.loads((tmp_path / engine / "results.json").read_text())
    assert _timeless(out["ray"]) == _timeless(out["local"])


def test_ray_eval_equals_local_with_documents_summed_into_units(local_ray, smollm2, shared_data, tmp_path):
    """A unit cap far below the document count: units are merged within and across shards, identically."""
    from toksmith.corpus import read_corpus

    files = [str(shared_data / "english" / n) for n in ("inaugural.txt", "state_union.txt")]
    kw = {"data_dir": tmp_path, "shard_bytes": 150_000, "unit_cap": 100,
          "metrics": ["compression", "fertility", "round_trip", "unk_rate"]}
    local = evaluate([smollm2], list(read_corpus(files)), **kw).to_dict()
    on_ray = evaluate([smollm2], list(read_corpus(files)), engine="ray", **kw).to_dict()
    main = local["corpus"]["main"]
    assert main["documents"] > 5000 and main["bootstrap_units"] <= 100 and main["documents_per_unit_block"] > 32
    assert _timeless(on_ray) == _timeless(local)
    whole = evaluate([smollm2], list(read_corpus(files)), **{**kw, "unit_cap": 1 << 20}).to_dict()
    assert whole["corpus"]["main"]["bootstrap_units"] == main["documents"]
    for m in ("bytes_per_token", "chars_per_token", "fertility", "round_trip", "bytes_per_token_doc_mean"):
        assert local["results"]["smollm2"][m]["value"] == pytest.approx(whole["results"]["smollm2"][m]["value"],
                                                                       rel=1e-12)
