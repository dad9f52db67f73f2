"""Loading models: optional torch, clear errors, the packaged SmolLM2 and its BPB."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from tests.conftest import REPO

from toksmith.errors import MissingDependencyError, ModelLoadError


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/",
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}, timeout=120)


def test_import_toksmith_leaves_torch_out():
    r = _run("import sys, toksmith, toksmith.lm, toksmith.bridge, toksmith.cli; print('torch' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_missing_torch_is_a_clear_error():
    r = _run("import sys; sys.modules['torch'] = None\n"
             "from toksmith.lm import load_lm\n"
             "try:\n    load_lm('smollm2')\nexcept Exception as e:\n    print(type(e).__name__, e)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("MissingDependencyError")
    assert "pip install 'toksmith[lm]'" in r.stdout


def test_unknown_model_name():
    from toksmith.lm import load_lm

    with pytest.raises(ModelLoadError, match="unknown model.*smollm2, gemma3"):
        load_lm("no-such-model")


def test_corrupt_gguf_file(tmp_path):
    from toksmith.lm import load_lm

    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 40)
    with pytest.raises(ModelLoadError, match="broken.gguf"):
        load_lm(bad)


def test_non_gguf_model_file(tmp_path):
    from toksmith.lm import load_lm

    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="must be .gguf"):
        load_lm(f)


def test_bad_dtype():
    from toksmith.lm import load_lm

    with pytest.raises(ModelLoadError, match="dtype 'int3'"):
        load_lm("smollm2", dtype="int3")


def test_missing_dependency_error_names_the_extra():
    e = MissingDependencyError("torch", "loading a language model", "lm")
    assert str(e) == ("loading a language model needs the optional package 'torch', which is not installed; "
                      "run: pip install 'toksmith[lm]'")


def test_sliding_window_score_equals_one_pass_when_text_fits(tmp_path):
    """With a window longer than the text, windowed scoring is the plain log-likelihood."""
    import torch
    from tests.bridge.tiny import byte_level_bpe, tiny_llama

    from toksmith.lm import score_text

    lm = tiny_llama(byte_level_bpe(tmp_path))
    text = "ab ab aab ba abba a  b"
    ids = [lm.bos_id] + lm.tokenizer.encode(text)
    with torch.no_grad():
        lp = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0].double(), -1)
    ref = -sum(float(lp[i, ids[i + 1]]) for i in range(len(ids) - 1)) / math.log(2)
    bits, n = score_text(lm, text, window=64, stride=32)
    assert n == len(ids) - 1
    assert bits == pytest.approx(ref, rel=1e-9)
    # a short window: every token still scored exactly once, with less context
    bits_short, n_short = score_text(lm, text, window=4, stride=2)
    assert n_short == n and bits_short > 0
