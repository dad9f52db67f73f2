"""evaluate() and `toksmith eval` end to end on real tokenizers and the built-in demo corpus."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from toksmith.cli import app
from toksmith.evaluate import evaluate


def test_results_json_carries_contract_and_breakdowns(smollm2, tiny) -> None:
    res = evaluate([smollm2, tiny], metrics=["compression", "parallel", "numbers"])
    d = json.loads(json.dumps(res.to_dict()))
    assert d["schema"] == "toksmith.eval/1"
    c = d["contract"]
    assert "without BOS/EOS" in c["special_tokens"] and c["normalisation"].startswith("none")
    assert c["bootstrap"]["resamples"] == 1000 and c["pivot"] == "eng"
    assert [t["name"] for t in d["tokenizers"]] == ["smollm2", "tiny"]
    assert all(len(t["fingerprint"]) == 16 for t in d["tokenizers"])
    assert d["corpus"]["parallel"]["fingerprint"]["sha256"]
    bpt = d["results"]["smollm2"]["bytes_per_token"]
    assert bpt["unit"] == "bytes/token" and bpt["ci"][0] <= bpt["value"] <= bpt["ci"][1]
    langs = d["report"]["languages"]
    assert "eng" in langs and "jpn" in langs
    pl = d["report"]["per_language"]["smollm2"]
    assert pl["eng"]["premium"] == 1.0 and pl["jpn"]["premium_ci"] is not None
    assert d["report"]["gini"]["tiny"]["lorenz"][-1] == [1.0, 1.0]
    assert len(d["report"]["numbers_heatmap"]["smollm2"]["shares"]) == 12
    # the tiny tokenizer has no merges for most scripts: every premium difference must be resolved
    jpn = [x for x in d["comparisons"] if x["metric"] == "premium" and x["language"] == "jpn"][0]
    assert jpn["a"] == "smollm2" and jpn["ci"] is not None
    s = d["samples"][0]
    assert s["lang"] == "eng"
    data = s["text"].encode()
    toks = s["tokens"]["smollm2"]
    assert b"".join(data[a:b] for a, b in toks["offsets"]) == data
    assert "".join(toks["pieces"]) == s["text"]


def test_cli_writes_results_and_report(tmp_path: Path) -> None:
    out = tmp_path / "ev"
    r = CliRunner().invoke(
        app, ["eval", "smollm2", "--metrics", "compression,premium", "--out", str(out), "--quiet"]
    )
    assert r.exit_code == 0, r.output
    d = json.loads((out / "results.json").read_text())
    assert set(d["results"]["smollm2"]) == {
        "bytes_per_token",
        "chars_per_token",
        "bytes_per_token_doc_mean",
        "chars_per_token_doc_mean",
        "premium",
    }
    assert "bytes_per_token" in r.output


def test_cli_unknown_metric_is_a_clean_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["eval", "smollm2", "--metrics", "nope", "--out", str(tmp_path), "--quiet"])
    assert r.exit_code == 2
    assert "unknown metric 'nope'" in r.output


def test_udhr_premiums_for_every_language(smollm2, shared_data) -> None:
    from toksmith.corpus import read_parallel

    par = read_parallel(shared_data / "udhr", languages=["eng", "deu_1901", "jpn", "tha", "cmn_hans"])
    res = evaluate([smollm2], parallel=par, metrics=["parallel"])
    prem = res.results["smollm2"]["premium"]
    assert set(prem.per_language) == {"eng", "deu_1901", "jpn", "tha", "cmn_hans"}
    assert prem.per_language["tha"]["value"] > prem.per_language["deu_1901"]["value"] > 1.0
    g = res.results["smollm2"]["gini"]
    assert g.ci is not None and g.ci[0] <= g.value <= g.ci[1] + 0.05
