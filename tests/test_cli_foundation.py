"""The CLI's foundation commands and the package's import hygiene."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from toksmith.cli import app

runner = CliRunner()


def test_import_toksmith_does_not_load_torch():
    code = "import sys, toksmith, toksmith.cli; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_vocab_overlap_cli(tmp_path):
    out = tmp_path / "overlap.json"
    res = runner.invoke(app, ["vocab", "overlap", "smollm2", "cl100k", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "byte-exact shared tokens" in res.output
    d = json.loads(out.read_text())
    assert d["byte_exact_shared"] > 3 * d["naive_string_shared"]
    assert d["vocab_sizes"] == [49152, 100277]


def test_bad_tokenizer_is_a_one_line_error():
    res = runner.invoke(app, ["vocab", "overlap", "smollm2", "nope-nope"])
    assert res.exit_code == 2
    assert "error:" in res.output and "not a short name" in res.output
    assert "Traceback" not in res.output


def test_overlap_json_into_missing_directory_fails_cleanly(tmp_path):
    res = runner.invoke(app, ["vocab", "overlap", "smollm2", "cl100k", "--json", str(tmp_path / "no" / "x.json")])
    assert res.exit_code == 2 and "cannot write here" in res.output
    assert not (tmp_path / "no").exists()
