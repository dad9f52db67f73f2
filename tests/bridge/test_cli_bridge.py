"""`toksmith score` and `toksmith generate` end to end on a tiny model saved as a transformers directory."""

from __future__ import annotations

import json

import pytest
from tests.bridge.tiny import saved_tiny_models
from typer.testing import CliRunner

from toksmith.cli import app


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    dirs = saved_tiny_models(tmp)
    corpus = tmp / "c.txt"
    corpus.write_text("ab ab aab ba\nabba é\n", encoding="utf-8")
    return dirs, corpus


def test_score_single_models_and_an_ensemble(model_dirs, tmp_path):
    (a, b), corpus = model_dirs
    out = tmp_path / "score.json"
    r = CliRunner().invoke(app, ["score", str(a), str(b), f"{a}+{b}", "--corpus", str(corpus), "--window", "8",
                                 "--stride", "4", "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["contract"]["token_level"] == "canonical tokenization, sliding window 8 tokens, stride 4"
    rows = data["results"]
    levels = [(row["model"], row["level"]) for row in rows]
    assert (str(a), "token") in levels and (str(b), "token") in levels
    assert ("mixture(tiny-bl+tiny-sp)", "byte") in levels
    assert all(row["bits_per_byte"] > 0 for row in rows)
    assert all(row["bytes"] == len("ab ab aab ba\nabba é\n".encode()) for row in rows)


def test_generate_greedy_is_deterministic(model_dirs):
    (a, _), _ = model_dirs
    args = ["generate", str(a), "--prompt", "ab a", "--max-bytes", "5", "--json"]
    r1 = CliRunner().invoke(app, args)
    r2 = CliRunner().invoke(app, args)
    assert r1.exit_code == 0, r1.output
    assert json.loads(r1.output)["output_bytes_hex"] == json.loads(r2.output)["output_bytes_hex"]


def test_score_byte_level_scores_whole_files(model_dirs, tmp_path):
    (a, _), corpus = model_dirs
    out = tmp_path / "score.json"
    r = CliRunner().invoke(app, ["score", str(a), "--byte-level", "--corpus", str(corpus), "--out", str(out),
                                 "--quiet"])
    assert r.exit_code == 0, r.output
    rows = json.loads(out.read_text(encoding="utf-8"))["results"]
    assert [row["level"] for row in rows] == ["token", "byte"]
    assert rows[1]["bytes"] == corpus.stat().st_size
